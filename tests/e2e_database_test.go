//go:build e2e

package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// TestE2EMoveToAnExternalDatabaseKeepsTheInClusterOne: a stack that ran the in-cluster
// PostgreSQL moves to a managed one (a host name; nothing needs to answer, as kwok runs
// no containers). The move registers no database of its own and deletes nothing of the
// old one's data: the StatefulSet, its claim and its Secrets keep their uids.
func TestE2EMoveToAnExternalDatabaseKeepsTheInClusterOne(t *testing.T) {
	s, ctx := freshE2EStack(t, "external", 5*time.Minute)

	require.NoError(t, cliUp(ctx, s))
	kept := map[string]string{}
	for _, ref := range [][2]string{{"statefulset", "psql-postgresql"}, {"pvc", "data-psql-postgresql-0"},
		{"secret", "psql-postgresql"}, {"secret", "psql-postgresql-bootstrap"}, {"configmap", "psql-postgresql-init"}} {
		kept[ref[0]+"/"+ref[1]] = fieldString(object(t, ref[0], ref[1]), "metadata", "uid")
	}

	for key, value := range map[string]string{
		"database": "external", "databaseHost": externalHost, "databaseUser": "backstage", "databaseSslMode": "verify-full",
		"databaseCaBundle": testCertificatePEM(t),
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
	require.NoError(t, s.SetConfig(ctx, "backstage:databasePassword", auto.ConfigValue{Value: "mock-rds-password", Secret: true}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:databaseCidrs[0]", auto.ConfigValue{Value: "10.20.0.0/24"}, &auto.ConfigOptions{Path: true}))

	preview, err := s.Preview(ctx, optpreview.Diff())
	require.NoError(t, err)
	assert.Contains(t, preview.StdOut+preview.StdErr, "backstage:database is external", "the preview says the old database is kept")

	require.NoError(t, cliUp(ctx, s), "external mode converges")
	for ref, uid := range kept {
		kind, name, _ := strings.Cut(ref, "/")
		assert.Equal(t, uid, fieldString(object(t, kind, name), "metadata", "uid"), "%s is kept", ref)
	}
	env := object(t, "configmap", "backstage-env-config")
	assert.Equal(t, externalHost, fieldString(env, "data", "POSTGRES_HOST"))
	assert.Contains(t, fieldString(object(t, "configmap", "backstage-app-config"), "data", "app-config.database.yaml"), "rejectUnauthorized: true")

	exported, err := s.Export(ctx)
	require.NoError(t, err)
	var state struct {
		Resources []struct{ Type, URN string } `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(exported.Deployment, &state))
	for _, res := range state.Resources {
		assert.NotEqual(t, "kubernetes:apps/v1:StatefulSet", res.Type, "the stack no longer manages a StatefulSet")
	}
}

// TestE2EMajorUpgradeKeepsTheOldServer: a stack on PostgreSQL 14 moves to 18. While the
// copy runs, Backstage is stopped, a new server runs beside the old one and the copy
// Job is admitted (kwok completes Jobs without running them: the script's own test runs
// it against real servers); once done, Backstage runs on the new server and the old
// StatefulSet and claim stay in the cluster, no longer in the stack.
func TestE2EMajorUpgradeKeepsTheOldServer(t *testing.T) {
	s, ctx := freshE2EStack(t, "upgrade", 8*time.Minute)
	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "14"}))
	// As in dev and prod: the old server's protection must not stand in the way.
	require.NoError(t, s.SetConfig(ctx, "backstage:protectDatabase", auto.ConfigValue{Value: "true"}))
	t.Cleanup(func() {
		_ = s.SetConfig(context.Background(), "backstage:protectDatabase", auto.ConfigValue{Value: "false"})
		_ = cliUp(context.Background(), s)
	})
	require.NoError(t, cliUp(ctx, s))
	oldUIDs := map[string]string{}
	for _, ref := range [][2]string{{"statefulset", "psql-postgresql"}, {"pvc", "data-psql-postgresql-0"}} {
		oldUIDs[ref[0]+"/"+ref[1]] = fieldString(object(t, ref[0], ref[1]), "metadata", "uid")
	}
	assertOldServerKept := func(stage string) {
		for ref, uid := range oldUIDs {
			kind, name, _ := strings.Cut(ref, "/")
			assert.Equal(t, uid, fieldString(object(t, kind, name), "metadata", "uid"), "%s: %s is kept", stage, ref)
		}
		assert.Contains(t, fieldString(object(t, "statefulset", "psql-postgresql"), "spec", "template", "spec", "containers", "0", "image"), "postgres:14.",
			"%s: the old server stays on its major", stage)
	}

	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "18"}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.from", auto.ConfigValue{Value: "14"}, &auto.ConfigOptions{Path: true}))
	preview, err := s.Preview(ctx, optpreview.Diff())
	require.NoError(t, err)
	assert.Contains(t, preview.StdOut+preview.StdErr, "copies the data from PostgreSQL 14 into psql-postgresql-18", "the preview says what happens")
	assert.Zero(t, preview.ChangeSummary["replace"], "%v", preview.ChangeSummary)
	// Only the old server's disruption budget goes: one budget per pod, and its selector
	// would cover the new pod too.
	assert.Equal(t, 1, preview.ChangeSummary["delete"], "%v", preview.ChangeSummary)
	assert.Regexp(t, `(?s)- kubernetes:policy/v1:PodDisruptionBudget: \(delete\).{0,300}::postgres-pdb\]`, preview.StdOut)

	require.NoError(t, cliUp(ctx, s), "the copy stage converges")
	assertOldServerKept("copying")
	assert.Contains(t, fieldString(object(t, "statefulset", "psql-postgresql-18"), "spec", "template", "spec", "containers", "0", "image"), "postgres:18.")
	object(t, "pvc", "data-psql-postgresql-18-0")
	copyJob := object(t, "job", "psql-postgresql-upgrade-14-to-18")
	assert.Equal(t, "psql-postgresql-18."+e2eNamespace+".svc.cluster.local", containerEnv(copyJob, "TO_HOST"))
	assert.Equal(t, "0", fmt.Sprint(field(object(t, "deployment", "backstage"), "spec", "replicas")), "Backstage is stopped")
	assert.Equal(t, "psql-postgresql-18."+e2eNamespace+".svc.cluster.local", fieldString(object(t, "configmap", "backstage-env-config"), "data", "POSTGRES_HOST"))

	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.done", auto.ConfigValue{Value: "true"}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s), "the switch converges: the old server leaves the stack without protection in the way")
	assertOldServerKept("done")
	assert.Equal(t, "1", fmt.Sprint(field(object(t, "deployment", "backstage"), "spec", "replicas")), "Backstage runs again")
	assert.False(t, exists(t, "job", "psql-postgresql-upgrade-14-to-18"), "the copy Job is gone with its stage")

	exported, err := s.Export(ctx)
	require.NoError(t, err)
	var state struct {
		Resources []struct{ URN string } `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(exported.Deployment, &state))
	var servers []string
	for _, res := range state.Resources {
		if strings.Contains(res.URN, "StatefulSet::") {
			servers = append(servers, res.URN[strings.LastIndex(res.URN, "::")+2:])
		}
	}
	assert.Equal(t, []string{"postgres-18-statefulset"}, servers, "only the new server is the stack's")

	preview, err = s.Preview(ctx)
	require.NoError(t, err)
	assertNothingReplacedOrDeleted(t, preview.ChangeSummary, "a run after the upgrade")
	assert.Zero(t, preview.ChangeSummary["update"], "%v", preview.ChangeSummary)
}

// containerEnv is the value of an environment variable of a workload's first container.
func containerEnv(workload map[string]any, name string) string {
	for _, e := range field(workload, "spec", "template", "spec", "containers", "0", "env").([]any) {
		if fieldString(e, "name") == name {
			return fieldString(e, "value")
		}
	}
	return ""
}

// What the running database cannot take is refused with the fix, on the preview and on
// the up, and the server keeps its data:
//   - a change of postgresMajorVersion without postgresUpgrade would point the new major
//     at the old data directory, which it cannot start on; the API server refuses it (a
//     server-side dry run on the preview). A bump within the major goes through;
//   - the data claim's size and class, which the StatefulSet fixed when it made the
//     claim: a larger size resizes the claim (the local class allows expansion), a
//     smaller one or another class is refused by the program, which reads the template
//     the claim was made from.
func TestE2EWhatTheRunningDatabaseCannotTakeIsRefused(t *testing.T) {
	s, ctx := freshE2EStack(t, "major", 6*time.Minute)
	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "17"}))
	require.NoError(t, cliUp(ctx, s))
	image := func() string {
		return fieldString(object(t, "statefulset", "psql-postgresql"), "spec", "template", "spec", "containers", "0", "image")
	}
	before, uid := image(), fieldString(object(t, "statefulset", "psql-postgresql"), "metadata", "uid")
	require.True(t, strings.HasPrefix(before, "postgres:17."), before)

	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "18"}))
	const fix = "runs PostgreSQL 17 on its data directory, and 18 cannot start on it; keep backstage:postgresMajorVersion at 17, or move the data with backstage:postgresUpgrade {from: 17}"
	_, err := s.Preview(ctx)
	require.Error(t, err, "the preview's dry run is refused")
	assert.Contains(t, err.Error(), fix)
	err = cliUp(ctx, s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fix)
	assert.Equal(t, before, image(), "the server keeps its major")
	assert.Equal(t, uid, fieldString(object(t, "statefulset", "psql-postgresql"), "metadata", "uid"))

	// Back on 17, a bump within the major is an ordinary update.
	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "17"}))
	require.NoError(t, s.SetConfig(ctx, "backstage:postgresImage", auto.ConfigValue{Value: before + "-bumped"}))
	require.NoError(t, cliUp(ctx, s))
	assert.Equal(t, before+"-bumped", image())

	claim := "data-" + names.PostgresName + "-0"
	claimSize := func() string {
		return fieldString(object(t, "persistentvolumeclaim", claim), "spec", "resources", "requests", "storage")
	}
	claimUID := fieldString(object(t, "persistentvolumeclaim", claim), "metadata", "uid")
	require.Equal(t, postgres.DefaultStorageSize, claimSize())
	require.NoError(t, s.SetConfig(ctx, "backstage:postgresStorageSize", auto.ConfigValue{Value: "12Gi"}))
	require.NoError(t, cliUp(ctx, s))
	assert.Equal(t, "12Gi", claimSize(), "the claim grew in place")
	for _, tc := range []struct{ key, value, want string }{
		{"backstage:postgresStorageSize", "4Gi", "backstage:postgresStorageSize is 4Gi, smaller than the database's claim"},
		{"backstage:postgresStorageClass", "another-class", "but the database's claim was made from class local-manual, and a claim never changes class; set it back to local-manual"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			withTemporaryConfig(t, s, tc.key, tc.value, func() {
				_, err := s.Preview(ctx)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				err = cliUp(ctx, s)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
			})
		})
	}
	assert.Equal(t, "12Gi", claimSize())
	assert.Equal(t, claimUID, fieldString(object(t, "persistentvolumeclaim", claim), "metadata", "uid"), "the claim is the one the data is on")
	preview, err := s.Preview(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[apitype.OpType]int{apitype.OpSame: preview.ChangeSummary[apitype.OpSame]}, preview.ChangeSummary,
		"a stack that asks the claim's size again changes nothing")
}

// TestE2ERestoreToATimeFromTheObjectStore: a stack whose backups go to an object store
// (nothing answers there: kwok runs no containers and completes Jobs without running
// them; pitr_sql_test.go runs the scripts against a real server and store). The API
// server admits the archiving server, the first base backup and the restore's pods, and
// make restore's script, given a time, refuses while Backstage runs, then stops the
// server, runs the restore Job with that time, starts a new server pod once the Job is
// done and a base backup of the new timeline; the stack then previews no change.
func TestE2ERestoreToATimeFromTheObjectStore(t *testing.T) {
	s, ctx := freshE2EStack(t, "pitr", 6*time.Minute)
	require.NoError(t, s.SetConfig(ctx, "backstage:backup", auto.ConfigValue{Value: `{"schedule":"0 0 31 2 *","objectStore":{` +
		`"endpoint":"objects.local.test:7070","bucket":"backstage-backups","uriStyle":"path","credentialsSecret":"backup-keys"}}`}))
	require.NoError(t, cliUp(ctx, s), "the first base backup's Job completes")
	assert.Equal(t, "1", fieldString(object(t, "job", postgres.FirstBackupJobName), "status", "succeeded"))
	_, err := kubectl(t, "get", "cronjob", "backstage-backup", "-n", e2eNamespace)
	assert.Error(t, err, "no pg_dump CronJob beside the bucket")

	const target = "2026-12-04T10:05:00Z"
	out, err := restore([]string{"TIME=" + target}, e2eNamespace)
	require.Error(t, err)
	assert.Contains(t, out, "set backstage:maintenance to true", "nothing may write during a restore")

	withTemporaryConfig(t, s, "backstage:maintenance", "true", func() {
		require.NoError(t, cliUp(ctx, s))
		before := object(t, "pod", names.PostgresName+"-0")
		out, err := restore([]string{"TIME=" + target}, e2eNamespace)
		require.NoError(t, err, out)

		jobs, err := kubectl(t, "get", "jobs", "-n", e2eNamespace, "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.completionTime} {.spec.template.spec.containers[0].env[?(@.name=="TARGET_TIME")].value}{"\n"}{end}`)
		require.NoError(t, err)
		var restoreDone time.Time
		baseBackups := 0
		for _, line := range strings.Split(strings.TrimSpace(jobs), "\n") {
			fields := strings.Fields(line)
			switch {
			case strings.HasPrefix(fields[0], postgres.PITRRestoreCronJobName+"-"):
				require.Len(t, fields, 3, line)
				assert.Equal(t, target, fields[2], "the Job restores to the time asked for")
				restoreDone, err = time.Parse(time.RFC3339, fields[1])
				require.NoError(t, err)
			case strings.HasPrefix(fields[0], postgres.BaseBackupCronJobName+"-"):
				baseBackups++
			}
		}
		require.False(t, restoreDone.IsZero(), "a restore Job completed:\n%s", jobs)
		assert.Equal(t, 1, baseBackups, "a base backup of the new timeline starts:\n%s", jobs)

		after := object(t, "pod", names.PostgresName+"-0")
		assert.NotEqual(t, fieldString(before, "metadata", "uid"), fieldString(after, "metadata", "uid"), "the server was stopped for the restore")
		started, err := time.Parse(time.RFC3339, fieldString(after, "metadata", "creationTimestamp"))
		require.NoError(t, err)
		assert.False(t, started.Before(restoreDone.Truncate(time.Second)), "the server starts after the restore is done (%s, %s)", started, restoreDone)
		sts := object(t, "statefulset", names.PostgresName)
		assert.Equal(t, "1", fieldString(sts, "status", "readyReplicas"))
	})
	require.NoError(t, cliUp(ctx, s))
	_, err = s.Preview(ctx, optpreview.ExpectNoChanges())
	assert.NoError(t, err, "the restore leaves the stack as it was")
}
