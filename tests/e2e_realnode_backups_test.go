//go:build e2e

package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// realNodeDRNamespace is the namespace of the stack that starts from the realnode
// stack's backups alone.
const realNodeDRNamespace = "backstage-realnode-dr"

// TestRealNodeBackupsSurviveTheCluster runs the realnode stack as committed, whose
// backups go to the S3-compatible server (versitygw) hack/realnode.sh runs beside the
// node, on real PostgreSQL and pgBackRest processes: archiving goes on across a restart
// of the server's pod; hack/restore.sh to a time T brings back the row written before T
// and not the one after; a new stack in a fresh namespace, given only the bucket, comes
// up with the restored history; and an upload that fails is counted in
// pg_stat_archiver, the signal docs/operations.md tells teams to alert on.
func TestRealNodeBackupsSurviveTheCluster(t *testing.T) {
	requireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	store := realNodeStore(t)
	for _, ns := range []string{realNodeNamespace, realNodeDRNamespace} {
		store.freshNamespace(t, ns)
	}
	s := stackFrom(t, "realnode", "realnode-backups")
	dr := stackFrom(t, "realnode", "realnode-dr")
	t.Cleanup(func() {
		store.resume() // if the last step failed with the bucket away
		_, _ = s.Destroy(context.Background())
		_, _ = dr.Destroy(context.Background())
		for _, ns := range []string{realNodeNamespace, realNodeDRNamespace} {
			resetNamespaceNamed(t, ns)
			// The servers are gone: so are their folders, so that the next
			// `make up STACK=realnode` starts a stanza of its own.
			_ = os.RemoveAll(filepath.Join(store.bucketDir, ns))
		}
	})

	// The database's test: Backstage stays stopped, as a restore needs it.
	require.NoError(t, s.SetConfig(ctx, "backstage:maintenance", auto.ConfigValue{Value: "true"}))
	require.NoError(t, cliUp(ctx, s), "the up waits for the server and for its first base backup, both real")
	assert.Contains(t, jobLogIn(t, realNodeNamespace, postgres.FirstBackupJobName), "base backup done")
	sql := superuserSQL(t, realNodeNamespace)

	// Archiving survives a restart of the server's pod: the rows below are archived by
	// the new pod's server.
	before := fieldString(objectIn(t, "pod", names.PostgresName+"-0", realNodeNamespace), "metadata", "uid")
	_, err := kubectl(t, "delete", "pod", names.PostgresName+"-0", "-n", realNodeNamespace)
	require.NoError(t, err)
	waitServerReady(t, realNodeNamespace, before)

	sql("CREATE TABLE rows (id int PRIMARY KEY, name text); INSERT INTO rows VALUES (1, 'before T')")
	time.Sleep(1100 * time.Millisecond) // the restore's target has second precision
	target := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	sql("INSERT INTO rows VALUES (2, 'after T')")
	waitArchivedSQL(t, sql)

	// The restore to T, as `make restore TIME=` runs it (Backstage is in maintenance).
	started := time.Now()
	out, err := restore([]string{"TIME=" + target.Format(time.RFC3339)}, realNodeNamespace)
	require.NoError(t, err, out)
	t.Logf("hack/restore.sh TIME= took %s on the real node", time.Since(started).Round(time.Second))
	assert.Equal(t, "1:before T", sql("SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM rows"),
		"the row written before T is back, the one after T is not")
	sql("INSERT INTO rows VALUES (3, 'after the restore')")
	waitArchivedSQL(t, sql)

	// A new stack in a fresh namespace, given only the bucket: its server starts from the
	// end of the first stack's archive, and archives into its own folder.
	require.NoError(t, dr.SetConfig(ctx, "backstage:namespace", auto.ConfigValue{Value: realNodeDRNamespace}))
	require.NoError(t, dr.SetConfig(ctx, "backstage:maintenance", auto.ConfigValue{Value: "true"}))
	require.NoError(t, dr.SetConfigWithOptions(ctx, "backstage:backup.objectStore.restoreFrom",
		auto.ConfigValue{Value: "/" + realNodeNamespace}, &auto.ConfigOptions{Path: true}))
	started = time.Now()
	require.NoError(t, cliUp(ctx, dr), "the new stack's server starts from the bucket")
	t.Logf("the new stack's up, its restore from the bucket and its first base backup took %s", time.Since(started).Round(time.Second))
	assert.Contains(t, podLogIn(t, realNodeDRNamespace, names.PostgresName+"-0", "bootstrap-from-bucket"),
		"bootstrap: restored from /"+realNodeNamespace)
	drSQL := superuserSQL(t, realNodeDRNamespace)
	assert.Equal(t, "1,3", drSQL("SELECT string_agg(id::text, ',' ORDER BY id) FROM rows"),
		"the new stack has the restored history: the row before T and the one after the restore")
	entries, err := os.ReadDir(filepath.Join(store.bucketDir, realNodeDRNamespace, "backup", postgres.Stanza))
	require.NoError(t, err, "the new stack backs up into its own folder")
	assert.NotEmpty(t, entries)

	// A failed upload is counted: the bucket is gone (deleted, renamed, or its name
	// mistyped in a change), so the store answers each push with an error at once. (A
	// store that refuses connections is counted only after pgBackRest's retries, which
	// take several of its 60 s io-timeouts: TestPointInTimeRecoveryThroughAnObjectStore
	// shows that with a shorter one.)
	failedBefore := sql("SELECT failed_count FROM pg_stat_archiver")
	store.hideBucket(t)
	stopped := time.Now()
	sql("INSERT INTO rows VALUES (4, 'while the store is down'); SELECT pg_switch_wal()")
	waitFor(t, "a failed push counted in pg_stat_archiver.failed_count", 8*time.Minute, func() bool {
		return sql("SELECT failed_count FROM pg_stat_archiver") != failedBefore
	})
	t.Logf("a failed push was counted %s after the bucket went", time.Since(stopped).Round(time.Second))
	assert.Equal(t, "t", sql("SELECT last_failed_time > coalesce(last_archived_time, 'epoch') FROM pg_stat_archiver"),
		"the newest attempt failed: the alert's second form")
	store.resume()
	waitArchivedSQL(t, sql)
}

// realNodeObjectStore is the store hack/realnode.sh runs: its keys, its CA, its bucket's
// folder (versitygw's posix backend: a bucket is a folder).
type realNodeObjectStore struct {
	credentials       map[string]string
	caFile, bucketDir string
}

func realNodeStore(t *testing.T) *realNodeObjectStore {
	t.Helper()
	dir := filepath.Join(repoRoot, ".cluster", "node", "objectstore")
	data, err := os.ReadFile(filepath.Join(dir, "credentials"))
	require.NoError(t, err, "hack/realnode.sh up makes the store's keys")
	creds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		creds[k] = v
	}
	return &realNodeObjectStore{
		credentials: creds,
		caFile:      filepath.Join(dir, "ca.pem"),
		bucketDir:   filepath.Join(dir, "root", realNodeStack.Config.Backup.ObjectStore.Bucket),
	}
}

// freshNamespace empties a stack's namespace and its folder in the bucket (an earlier
// run's server's would refuse this run's: another system id), and makes its Secret.
func (s *realNodeObjectStore) freshNamespace(t *testing.T, namespace string) {
	t.Helper()
	resetNamespaceNamed(t, namespace)
	require.NoError(t, os.RemoveAll(filepath.Join(s.bucketDir, namespace)))
	s.secretIn(t, namespace)
}

// secretIn makes the Secret the realnode stack names (credentialsSecret), as the
// platform's secret store would before the stack runs.
func (s *realNodeObjectStore) secretIn(t *testing.T, namespace string) {
	t.Helper()
	_, err := kubectl(t, "create", "namespace", namespace)
	require.NoError(t, err)
	_, err = kubectl(t, "create", "secret", "generic", realNodeStack.Config.Backup.ObjectStore.CredentialsSecret, "-n", namespace,
		"--from-literal="+postgres.AccessKeyIDKey+"="+s.credentials[postgres.AccessKeyIDKey],
		"--from-literal="+postgres.SecretAccessKeyKey+"="+s.credentials[postgres.SecretAccessKeyKey])
	require.NoError(t, err)
}

// hideBucket moves the bucket's folder away; resume moves it back.
func (s *realNodeObjectStore) hideBucket(t *testing.T) {
	t.Helper()
	require.NoError(t, os.Rename(s.bucketDir, s.bucketDir+".away"))
}

func (s *realNodeObjectStore) resume() {
	if _, err := os.Stat(s.bucketDir + ".away"); err == nil {
		_ = os.Rename(s.bucketDir+".away", s.bucketDir)
	}
}

// superuserSQL runs statements as the superuser on a namespace's server, over the pod
// network, and fails the test on an error.
func superuserSQL(t *testing.T, namespace string) func(string) string {
	return func(statement string) string {
		t.Helper()
		password := secretPasswordIn(t, namespace, names.PostgresBootstrapSecretName)
		out, err := psqlIn(t, namespace, names.PostgresName+"-0", names.PostgresSuperuser, password, "postgres", statement)
		require.NoError(t, err, "%s: %s", statement, out)
		return out
	}
}

// waitArchivedSQL switches to a new WAL segment and waits until the one it closed is in
// the store.
func waitArchivedSQL(t *testing.T, sql func(string) string) {
	t.Helper()
	segment := sql("SELECT pg_walfile_name(pg_switch_wal())")
	waitFor(t, "WAL segment "+segment+" archived", 3*time.Minute, func() bool {
		return sql("SELECT coalesce(last_archived_wal, '') >= '"+segment+"' FROM pg_stat_archiver") == "t"
	})
}

// waitServerReady waits for the server's pod to be a new one (not uid before) and Ready.
func waitServerReady(t *testing.T, namespace, before string) {
	t.Helper()
	waitFor(t, "a new, ready server pod in "+namespace, 3*time.Minute, func() bool {
		out, err := kubectl(t, "get", "pod", names.PostgresName+"-0", "-n", namespace, "-o",
			`jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}`)
		fields := strings.Fields(out)
		return err == nil && len(fields) == 2 && fields[0] != before && fields[1] == "True"
	})
}

// jobLogIn reads the logs of a Job's pods from the node's log folder.
func jobLogIn(t *testing.T, namespace, job string) string {
	t.Helper()
	out, err := kubectl(t, "get", "pods", "-n", namespace, "-l", "job-name="+job, "-o", "jsonpath={.items[*].metadata.name}")
	require.NoError(t, err)
	var all strings.Builder
	for _, pod := range strings.Fields(out) {
		all.WriteString(podLogIn(t, namespace, pod, "*")) // every container's
	}
	return all.String()
}
