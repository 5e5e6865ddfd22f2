package tests

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// realNode is the node hack/realnode.sh runs beside the local control plane.
const realNode = "realnode-0"

// requireRealNode skips unless the real node is up (make test-realnode starts it).
func requireRealNode(t *testing.T) {
	t.Helper()
	requireControlPlane(t)
	ready, err := kubectl(t, "get", "node", realNode, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if err != nil || strings.TrimSpace(ready) != "True" {
		t.Skip("the real node is not up: `make test-realnode` starts it (containerd, kubelet, CoreDNS, local images)")
	}
}

// realNodeStack is the local stack on PostgreSQL 15, the major Debian bookworm ships,
// with Backstage held at 0 replicas (maintenance): its image is not among the node's.
func realNodeStack(t *testing.T, ctx context.Context, s *stackrun.Stack) {
	t.Helper()
	for key, value := range map[string]string{"postgresMajorVersion": "15", "maintenance": "true"} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
}

// TestRealNodeRunsTheDatabase deploys the local stack on a real node: real containers
// of Debian's PostgreSQL 15 under the program's pod settings (UID 999, read-only root,
// no capabilities, scram on the socket), real Jobs, real DNS and a real pod network.
func TestRealNodeRunsTheDatabase(t *testing.T) {
	requireRealNode(t)
	s, ctx := freshE2EStack(t, "realnode", 8*time.Minute)
	realNodeStack(t, ctx, s)
	_, err := s.Up(ctx)
	require.NoError(t, err, "the up waits for the real server's readiness probe and the role Job's real run")

	pod := object(t, "pod", "psql-postgresql-0")
	assert.Equal(t, realNode, fieldString(pod, "spec", "nodeName"))
	ip := fieldString(pod, "status", "podIP")
	require.NotEmpty(t, ip)
	assert.Contains(t, podLog(t, "psql-postgresql-0", "postgresql"), "running /docker-entrypoint-initdb.d/10-create-app-role.sh",
		"the program's init script ran at initdb")
	assert.Contains(t, jobLog(t, "psql-postgresql-least-privilege"), "the app role is not a superuser",
		"the role Job reached the server by its Service name through cluster DNS")

	appPassword, bootstrapPassword := secretPassword(t, "psql-postgresql"), secretPassword(t, "psql-postgresql-bootstrap")
	sql := func(user, password, statement string) (string, error) {
		return psqlAt(ip, user, password, "backstage_plugin_catalog", statement)
	}
	out, err := sql("backstage", appPassword, "SELECT rolsuper::text || ',' || rolcreatedb::text FROM pg_roles WHERE rolname = current_user")
	require.NoError(t, err, out)
	assert.Equal(t, "false,true", out, "the app role logs in over the pod network, creates databases, and is no superuser")
	out, err = sql("backstage", appPassword, "COPY (SELECT 1) TO PROGRAM 'true'")
	require.Error(t, err)
	assert.Contains(t, out, "privileges of the pg_execute_server_program role")
	_, err = sql("backstage", "wrong", "SELECT 1")
	assert.Error(t, err, "a wrong password is refused")
	out, err = sql("postgres", bootstrapPassword, "SHOW max_connections")
	require.NoError(t, err, out)
	assert.Equal(t, "100", out, "the server runs with the program's flags")

	// A backup runs as a real pod, a lost row comes back from it, and the data outlives
	// a destroy: a new stack finds it.
	_, err = sql("backstage", appPassword, "CREATE TABLE entities (id int PRIMARY KEY, name text); INSERT INTO entities VALUES (1, 'service-a')")
	require.NoError(t, err)
	_, err = kubectl(t, "create", "job", "backup-now", "-n", e2eNamespace, "--from=cronjob/backstage-backup")
	require.NoError(t, err)
	_, err = kubectl(t, "wait", "-n", e2eNamespace, "--for=condition=complete", "--timeout=120s", "job/backup-now")
	require.NoError(t, err, jobLog(t, "backup-now"))
	assert.Contains(t, jobLog(t, "backup-now"), "dumped backstage_plugin_catalog")
	_, err = sql("backstage", appPassword, "DELETE FROM entities")
	require.NoError(t, err)
	restore := exec.Command(filepath.Join(repoRoot, "hack", "restore.sh"), e2eNamespace)
	restored, err := restore.CombinedOutput()
	require.NoError(t, err, "%s", restored)
	out, err = sql("backstage", appPassword, "SELECT name FROM entities")
	require.NoError(t, err, out)
	assert.Equal(t, "service-a", out, "the restore brought the row back")

	_, err = s.Destroy(ctx)
	require.NoError(t, err)
	again := e2eStack(t, "realnode-again")
	t.Cleanup(func() { _, _ = again.Destroy(context.Background()) })
	realNodeStack(t, ctx, again)
	_, err = again.Up(ctx)
	require.NoError(t, err, "a new stack adopts the retained server")
	ip = fieldString(object(t, "pod", "psql-postgresql-0"), "status", "podIP")
	out, err = sql("backstage", appPassword, "SELECT name FROM entities")
	require.NoError(t, err, out)
	assert.Equal(t, "service-a", out, "the data outlived the destroy")
}

// TestRealNodeCopiesBetweenMajors upgrades a server of Debian bookworm's PostgreSQL 15
// to trixie's 17 through postgresUpgrade: the copy Job really runs pg_dumpall 17
// against 15 and loads 17, every row arrives, and the old server keeps its data.
func TestRealNodeCopiesBetweenMajors(t *testing.T) {
	requireRealNode(t)
	s, ctx := freshE2EStack(t, "realnode-upgrade", 8*time.Minute)
	realNodeStack(t, ctx, s)
	_, err := s.Up(ctx)
	require.NoError(t, err)
	appPassword := secretPassword(t, "psql-postgresql")
	sqlOn := func(pod, db, statement string) (string, error) {
		return psqlAt(fieldString(object(t, "pod", pod), "status", "podIP"), "backstage", appPassword, db, statement)
	}
	out, err := sqlOn("psql-postgresql-0", "backstage_plugin_catalog",
		"CREATE TABLE entities (id int PRIMARY KEY, name text); INSERT INTO entities SELECT g, 'entity-' || g FROM generate_series(1, 1000) g")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "CREATE DATABASE backstage_plugin_scaffolder")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_scaffolder", "CREATE TABLE tasks (id int); INSERT INTO tasks VALUES (1), (2), (3)")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "SHOW server_version_num")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "15"), "the first server is PostgreSQL 15: %s", out)

	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "17"}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.from", auto.ConfigValue{Value: "15"}, &auto.ConfigOptions{Path: true}))
	_, err = s.Up(ctx)
	require.NoError(t, err, "the copy Job runs to completion")
	assert.Contains(t, jobLog(t, "psql-postgresql-upgrade-15-to-17"), "copied from PostgreSQL 15: backstage_plugin_catalog,backstage_plugin_scaffolder,postgres")

	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_catalog", "SELECT current_setting('server_version_num') || ':' || count(*) FROM entities")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "17") && strings.HasSuffix(out, ":1000"), "every row on PostgreSQL 17: %s", out)
	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_scaffolder", "SELECT count(*) FROM tasks")
	require.NoError(t, err, out)
	assert.Equal(t, "3", out, "the plugin database too")
	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_catalog", "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")
	require.NoError(t, err, out)
	assert.Equal(t, "false", out, "the app role logs in to the new server, still no superuser")

	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.done", auto.ConfigValue{Value: "true"}, &auto.ConfigOptions{Path: true}))
	_, err = s.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, "psql-postgresql-17."+e2eNamespace+".svc.cluster.local", fieldString(object(t, "configmap", "backstage-env-config"), "data", "POSTGRES_HOST"))
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "SELECT count(*) FROM entities")
	require.NoError(t, err, out)
	assert.Equal(t, "1000", out, "the old server is retained with its data, and the app role may log in to it again")
}

// psqlAt runs one statement with the host's psql against a pod's address, over the
// pod network, and returns its unaligned result.
func psqlAt(ip, user, password, db, statement string) (string, error) {
	cmd := exec.Command("psql", "-X", "-A", "-t", "-h", ip, "-U", user, "-d", db, "-c", statement)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func secretPassword(t *testing.T, name string) string {
	t.Helper()
	decoded, err := base64.StdEncoding.DecodeString(fieldString(object(t, "secret", name), "data", "password"))
	require.NoError(t, err)
	return string(decoded)
}

// podLog reads a container's log from the node's log folder (the API server has no
// kubelet client certificate here, so `kubectl logs` cannot reach the node).
func podLog(t *testing.T, pod, container string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("/var/log/pods", e2eNamespace+"_"+pod+"_*", container, "*.log"))
	var all strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(data)
	}
	return all.String()
}

func jobLog(t *testing.T, job string) string {
	t.Helper()
	out, err := kubectl(t, "get", "pods", "-n", e2eNamespace, "-l", "job-name="+job, "-o", "jsonpath={.items[*].metadata.name}")
	require.NoError(t, err)
	var all strings.Builder
	for _, pod := range strings.Fields(out) {
		files, _ := filepath.Glob(filepath.Join("/var/log/pods", e2eNamespace+"_"+pod+"_*", "*", "*.log"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			all.Write(data)
		}
	}
	return all.String()
}
