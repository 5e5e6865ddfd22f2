//go:build e2e

package tests

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/config"
)

// TestE2ELocalStackLifecycle runs the `local` stack under the real Pulumi engine and
// the real Kubernetes provider against the local API server, from nothing to destroy.
// The steps share one stack, so they run in order and stop at the first failure.
func TestE2ELocalStackLifecycle(t *testing.T) {
	requireControlPlane(t)
	resetNamespace(t)
	s := e2eStack(t, "e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	step := inOrder(t)

	step("up converges and the cluster holds what the program declares", func(t *testing.T) {
		require.NoError(t, cliUp(ctx, s))

		ns := object(t, "namespace", e2eNamespace)
		assert.Equal(t, "restricted", fieldString(ns, "metadata", "labels", "pod-security.kubernetes.io/enforce"))

		deploy := object(t, "deployment", "backstage")
		assert.Equal(t, fieldString(deploy, "spec", "replicas"), fieldString(deploy, "status", "readyReplicas"), "Deployment Ready")
		pod := field(deploy, "spec", "template", "spec")
		assert.Equal(t, "ghcr.io/arhean/backstage:1.0.0", fieldString(pod, "containers", "0", "image"))
		assert.Equal(t, "wait-for-postgres", fieldString(pod, "initContainers", "0", "name"))
		assert.Equal(t, "backstage", fieldString(pod, "serviceAccountName"))
		assert.Equal(t, "true", fieldString(pod, "containers", "0", "securityContext", "readOnlyRootFilesystem"))

		sts := object(t, "statefulset", "psql-postgresql")
		assert.Equal(t, "1", fieldString(sts, "status", "readyReplicas"), "StatefulSet Ready")
		assert.Equal(t, "Retain", fieldString(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"))
		pvc := object(t, "pvc", "data-psql-postgresql-0")
		assert.Equal(t, "Bound", fieldString(pvc, "status", "phase"))
		assert.Equal(t, postgres.DefaultStorageSize, fieldString(pvc, "spec", "resources", "requests", "storage"))

		svc := object(t, "service", "backstage")
		assert.Equal(t, "ClusterIP", fieldString(svc, "spec", "type"))
		assert.Equal(t, "80", fieldString(svc, "spec", "ports", "0", "port"))
		assert.Equal(t, "http", fieldString(svc, "spec", "ports", "0", "targetPort"))
		assert.Equal(t, "ClientIP", fieldString(svc, "spec", "sessionAffinity"))
		assert.Equal(t, "None", fieldString(object(t, "service", "psql-postgresql"), "spec", "clusterIP"))

		ing := object(t, "ingress", "backstage")
		assert.Equal(t, "backstage.local.test", fieldString(ing, "spec", "rules", "0", "host"))
		cm := object(t, "configmap", "backstage-env-config")
		assert.Equal(t, "psql-postgresql."+e2eNamespace+".svc.cluster.local", fieldString(cm, "data", "POSTGRES_HOST"))
		secret := object(t, "secret", "backstage-secrets")
		assert.NotEmpty(t, fieldString(secret, "data", "POSTGRES_PASSWORD"))
		object(t, "serviceaccount", "backstage")
		role := object(t, "clusterrole", e2eNamespace+"-backend")
		assert.NotContains(t, fieldString(role, "rules"), "secrets")
		binding := object(t, "clusterrolebinding", e2eNamespace+"-backend")
		assert.Equal(t, e2eNamespace, fieldString(binding, "subjects", "0", "namespace"))
		for _, policy := range []string{"default-deny", "allow-dns", "backstage-ingress", "backstage-egress", "postgres-ingress"} {
			object(t, "networkpolicy", policy)
		}
		object(t, "pdb", "backstage")
		object(t, "pdb", "psql-postgresql")
	})

	step("Pod Security restricted is enforced and every pod was admitted", func(t *testing.T) {
		out, err := kubectl(t, "get", "pods", "-n", e2eNamespace, "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\n"}{end}`)
		require.NoError(t, err)
		pods := strings.Fields(out)
		assert.Len(t, pods, 3, "one Backstage pod, one PostgreSQL pod, the role Job's pod")
		for _, p := range pods {
			want := "=Running"
			if strings.HasPrefix(p, "psql-postgresql-least-privilege-") {
				want = "=Succeeded" // kwok completes Job pods without running them
			}
			assert.True(t, strings.HasSuffix(p, want), p)
		}
		// The same API server refuses a pod that breaks the profile (no security context).
		_, err = kubectl(t, "run", "unrestricted-probe", "-n", e2eNamespace, "--image="+pins.InitImage, "--restart=Never")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "violates PodSecurity \"restricted")
	})

	step("a second up changes nothing and preview expects no changes", func(t *testing.T) {
		res, err := s.Up(ctx)
		require.NoError(t, err)
		for op, n := range *res.Summary.ResourceChanges {
			assert.Equal(t, "same", op, "%d resources would %s", n, op)
		}
		_, err = s.Preview(ctx, optpreview.ExpectNoChanges())
		assert.NoError(t, err)
	})

	step("bad configuration fails before any resource changes", func(t *testing.T) {
		before := resourceVersions(t)
		count := stateResourceCount(t, s)
		for key, bad := range map[string]string{
			"backstage:image":               "Not An Image",
			"backstage:postgresStorageSize": "8GB",
			"backstage:replicas":            "0",
			"backstage:tls":                 "vault",
		} {
			withTemporaryConfig(t, s, key, bad, func() {
				err := cliUp(ctx, s)
				require.Error(t, err, key)
				assert.Contains(t, err.Error(), key+":", "the error names the key")
			})
		}
		assert.Equal(t, before, resourceVersions(t), "no object was touched")
		assert.Equal(t, count, stateResourceCount(t, s), "the state lost or gained nothing")
	})

	step("an image bump updates only the Deployment and keeps the database", func(t *testing.T) {
		uid := func(kind, name string) string { return fieldString(object(t, kind, name), "metadata", "uid") }
		kept := map[string]string{
			"statefulset/psql-postgresql":    uid("statefulset", "psql-postgresql"),
			"pvc/data-psql-postgresql-0":     uid("pvc", "data-psql-postgresql-0"),
			"secret/psql-postgresql":         uid("secret", "psql-postgresql"),
			"secret/backstage-secrets":       uid("secret", "backstage-secrets"),
			"configmap/backstage-env-config": uid("configmap", "backstage-env-config"),
		}
		password := fieldString(object(t, "secret", "psql-postgresql"), "data", "password")

		require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: "ghcr.io/arhean/backstage:1.0.1"}))
		preview, err := s.Preview(ctx, optpreview.Diff())
		require.NoError(t, err)
		if !assert.Equal(t, 1, preview.ChangeSummary[apitype.OpUpdate], "exactly one update: %v\n%s", preview.ChangeSummary, preview.StdOut) {
			logWorkloadStatus(t)
		}
		assertNothingReplacedOrDeleted(t, preview.ChangeSummary, "image bump")

		res, err := s.Up(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, (*res.Summary.ResourceChanges)["update"])
		waitFor(t, "only new-image Backstage pods run", 30*time.Second, func() bool {
			out, err := kubectl(t, "get", "pods", "-n", e2eNamespace, "-l", "app=backstage",
				"-o", `jsonpath={range .items[*]}{.spec.containers[0].image}{" "}{.status.phase}{"\n"}{end}`)
			return err == nil && strings.TrimSpace(out) == "ghcr.io/arhean/backstage:1.0.1 Running"
		})
		for ref, want := range kept {
			parts := strings.SplitN(ref, "/", 2)
			assert.Equal(t, want, uid(parts[0], parts[1]), "%s kept its uid", ref)
		}
		assert.Equal(t, password, fieldString(object(t, "secret", "psql-postgresql"), "data", "password"))
	})

	step("database settings and size update the StatefulSet in place, never replace it", func(t *testing.T) {
		for key, value := range map[string]string{
			"backstage:postgresMaxConnections": "150",
			"backstage:postgresSharedBuffers":  "128MB",
			"backstage:postgresStorageSize":    "16Gi",
			"backstage:postgresImage":          pins.PostgresImages[postgres.DefaultMajorVersion] + "-bumped",
		} {
			withTemporaryConfig(t, s, key, value, func() {
				preview, err := s.Preview(ctx)
				require.NoError(t, err, key)
				summary := maps.Clone(preview.ChangeSummary)
				if key == "backstage:postgresStorageSize" {
					// The claim template is ignored (a new StatefulSet would mean an empty
					// volume): one patch grows the claim the StatefulSet made.
					assert.Equal(t, 1, summary[apitype.OpCreate], "%s: %v", key, summary)
					delete(summary, apitype.OpCreate)
				}
				assertNothingReplacedOrDeleted(t, summary, key)
				switch key {
				case "backstage:postgresStorageSize":
					assert.Zero(t, preview.ChangeSummary[apitype.OpUpdate], "%s: %v", key, preview.ChangeSummary)
				case "backstage:postgresImage":
					// The StatefulSet, and the backup and restore CronJobs that use its tools;
					// the role Job ignores it (it ran once).
					assert.Equal(t, 3, preview.ChangeSummary[apitype.OpUpdate], "%s: %v", key, preview.ChangeSummary)
				case "backstage:postgresMaxConnections":
					// The server's flag, and each plugin's pool, resized to the new budget:
					// the app-config and the Deployment that mounts it.
					assert.Equal(t, 3, preview.ChangeSummary[apitype.OpUpdate], "%s: %v", key, preview.ChangeSummary)
				default:
					assert.Equal(t, 1, preview.ChangeSummary[apitype.OpUpdate], "%s: %v", key, preview.ChangeSummary)
				}
			})
		}
	})

	step("a list key passes the CLI's project-config validation as a YAML list and as a comma string", func(t *testing.T) {
		key := config.KeyKubeAPIServerCIDRs.FullName()
		require.NoError(t, s.SetConfigWithOptions(ctx, key+"[0]", auto.ConfigValue{Value: "10.96.0.1/32"}, &auto.ConfigOptions{Path: true}))
		asList, err := s.Preview(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, asList.ChangeSummary[apitype.OpUpdate], "the egress policy gains the API server: %v", asList.ChangeSummary)
		withTemporaryConfig(t, s, key, "10.96.0.1/32", func() {
			asString, err := s.Preview(ctx)
			require.NoError(t, err)
			assert.Equal(t, asList.ChangeSummary, asString.ChangeSummary)
		})
		require.NoError(t, s.RemoveConfig(ctx, key))
		_, err = s.Preview(ctx, optpreview.ExpectNoChanges())
		assert.NoError(t, err)
	})

	step("a backup and a restore run as restricted pods, through make restore's script", func(t *testing.T) {
		object(t, "cronjob", "backstage-backup")
		claim := object(t, "pvc", "backstage-backups")
		waitFor(t, "the backup claim to bind", 30*time.Second, func() bool {
			return fieldString(object(t, "pvc", "backstage-backups"), "status", "phase") == "Bound"
		})
		_ = claim
		_, err := kubectl(t, "create", "job", "backup-now", "-n", e2eNamespace, "--from=cronjob/backstage-backup")
		require.NoError(t, err, "the API server admits the backup's pod under restricted Pod Security")
		waitFor(t, "the backup Job to complete", 60*time.Second, func() bool {
			return fieldString(object(t, "job", "backup-now"), "status", "succeeded") == "1"
		})

		// The restore refuses while Backstage runs, then runs from the suspended CronJob.
		out, err := restore(nil, e2eNamespace, "20261128T031700Z")
		require.Error(t, err)
		assert.Contains(t, out, "set backstage:maintenance to true")
		withTemporaryConfig(t, s, "backstage:maintenance", "true", func() {
			require.NoError(t, cliUp(ctx, s))
			out, err := restore(nil, e2eNamespace, "20261128T031700Z")
			require.NoError(t, err, out)
			jobs, err := kubectl(t, "get", "jobs", "-n", e2eNamespace, "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].env[?(@.name=="BACKUP")].value}{"\n"}{end}`)
			require.NoError(t, err)
			assert.Contains(t, jobs, "=20261128T031700Z", "the Job restores the backup asked for")
		})
		require.NoError(t, cliUp(ctx, s))
		_, _ = kubectl(t, "delete", "jobs", "-n", e2eNamespace, "-l", "component=database-client", "--ignore-not-found")
		_, _ = kubectl(t, "delete", "job", "backup-now", "-n", e2eNamespace, "--ignore-not-found")
	})

	step("secrets never reach the state in plaintext", func(t *testing.T) {
		const token = "ghp_e2eTokenThatMustStaySecret123"
		require.NoError(t, s.SetConfig(ctx, "backstage:githubToken", auto.ConfigValue{Value: token, Secret: true}))
		_, err := s.Up(ctx, optup.Message("add a GitHub token"))
		require.NoError(t, err)
		gotToken := fieldString(object(t, "secret", "backstage-secrets"), "data", "GITHUB_TOKEN")
		assert.NotEmpty(t, gotToken, "the token reached the Secret")

		password, err := s.GetConfig(ctx, "backstage:postgresPassword")
		require.NoError(t, err)
		exported := cliStackExport(t, s)
		for what, value := range map[string]string{"the GitHub token": token, "the database password": password.Value} {
			if i := strings.Index(exported, value); i >= 0 {
				t.Errorf("%s is in the state in plaintext: ...%s...", what, exported[max(0, i-300):i])
			}
		}
		assert.True(t, strings.Contains(exported, "4dabf18193072939515e22adb298388d"), "secret values are stored as Pulumi secrets")
	})

	step("destroy removes what up created and keeps the database", func(t *testing.T) {
		pvcUID := fieldString(object(t, "pvc", "data-psql-postgresql-0"), "metadata", "uid")
		_, err := s.Destroy(ctx)
		require.NoError(t, err)
		for _, gone := range [][2]string{
			{"deployment", "backstage"}, {"service", "backstage"}, {"ingress", "backstage"},
			{"configmap", "backstage-env-config"}, {"secret", "backstage-secrets"}, {"networkpolicy", "backstage-ingress"},
		} {
			assert.False(t, exists(t, gone[0], gone[1]), "%s/%s deleted", gone[0], gone[1])
		}
		// The retained database stays fenced and able to restart.
		for _, kept := range [][2]string{
			{"networkpolicy", "default-deny"}, {"networkpolicy", "postgres-ingress"},
			{"secret", "psql-postgresql"}, {"secret", "psql-postgresql-bootstrap"}, {"configmap", "psql-postgresql-init"},
			{"pvc", "backstage-backups"},
		} {
			assert.True(t, exists(t, kept[0], kept[1]), "%s/%s is retained", kept[0], kept[1])
		}
		_, err = kubectl(t, "get", "clusterrole", e2eNamespace+"-backend")
		assert.Error(t, err, "the ClusterRole is deleted")
		assert.True(t, exists(t, "statefulset", "psql-postgresql"), "the StatefulSet is retained")
		assert.Equal(t, pvcUID, fieldString(object(t, "pvc", "data-psql-postgresql-0"), "metadata", "uid"), "the claim is retained")
		assert.Equal(t, 0, stateResourceCount(t, s))
	})
}
