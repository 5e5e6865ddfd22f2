//go:build e2e

package tests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/postgres"
)

const realNodeExternalNamespace = "backstage-realnode-ext"

// TestRealNodeExternalDatabaseDumpsToTheBucket runs a stack whose database is
// external (a real PostgreSQL on the node's address, outside the cluster) and whose
// backups go to the store beside the node: the backup Job, a real pod with rclone
// copied in from its image, streams the dump into the stack's folder of the bucket over
// TLS from the store's CA (caBundle); after a table is dropped, hack/restore.sh (as
// `make restore` runs it) brings it back from the bucket.
func TestRealNodeExternalDatabaseDumpsToTheBucket(t *testing.T) {
	requireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	store := realNodeStore(t)
	ns := realNodeExternalNamespace
	store.freshNamespace(t, ns)
	folder := filepath.Join(store.bucketDir, ns)

	address, err := kubectl(t, "get", "node", realNode, "-o", `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`)
	require.NoError(t, err)
	address = strings.TrimSpace(address)
	db := startHostPostgres(t, address)
	db.sql(t, "postgres", "CREATE ROLE backstage LOGIN PASSWORD 'external-app-password'")
	db.sql(t, "postgres", "CREATE DATABASE backstage_plugin_catalog OWNER backstage")
	app := func(statement string) string {
		t.Helper()
		return db.sqlAs(t, "backstage", "external-app-password", "backstage_plugin_catalog", statement)
	}
	app("CREATE TABLE entities (id int PRIMARY KEY, name text); INSERT INTO entities VALUES (1, 'service-a'), (2, 'service-b')")

	s := stackFrom(t, "realnode", "realnode-external")
	t.Cleanup(func() {
		_, _ = s.Destroy(context.Background())
		resetNamespaceNamed(t, ns)
		_ = os.RemoveAll(folder)
	})
	ca, err := os.ReadFile(store.caFile)
	require.NoError(t, err)
	for key, value := range map[string]string{
		"namespace": ns, "maintenance": "true", // Backstage stays stopped: only the backups run
		"database": "external", "databaseHost": address, "databasePort": db.port, "databaseUser": "backstage",
		"databaseSslMode": "require", // the server's certificate is one it made itself
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
	require.NoError(t, s.SetConfig(ctx, "backstage:databasePassword", auto.ConfigValue{Value: "external-app-password", Secret: true}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:databaseCidrs[0]", auto.ConfigValue{Value: address + "/32"}, &auto.ConfigOptions{Path: true}))
	// The stack's pgBackRest image trusts the store's CA; the dump pods' postgres image
	// does not, so the stack names it, as a team with a private store would.
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:backup.objectStore.caBundle", auto.ConfigValue{Value: string(ca)}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s))

	started := time.Now()
	runJobFrom(t, ns, postgres.BackupCronJobName, "dump-1")
	t.Logf("the dump Job ran in %s", time.Since(started).Round(time.Second))
	log := jobLogIn(t, ns, "dump-1")
	assert.Contains(t, log, "uploaded backstage_plugin_catalog")
	complete, err := filepath.Glob(filepath.Join(folder, postgres.DumpsFolder, "*", "COMPLETE"))
	require.NoError(t, err)
	require.Len(t, complete, 1, "one complete run in the stack's folder of the bucket: %s", log)
	dump, err := os.ReadFile(filepath.Join(filepath.Dir(complete[0]), "backstage_plugin_catalog.dump"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(dump), "PGDMP"), "pg_dump's custom format, in the bucket")

	// A bad migration on the external database; the restore reads the bucket.
	app("DROP TABLE entities")
	started = time.Now()
	out, err := restore(nil, ns)
	require.NoError(t, err, out)
	t.Logf("hack/restore.sh took %s", time.Since(started).Round(time.Second))
	assert.Equal(t, "service-a,service-b", app("SELECT string_agg(name, ',' ORDER BY id) FROM entities"),
		"the table is back from the bucket")

	// A time is refused: an external database's recovery to a time is its provider's.
	out, err = restore([]string{"TIME=" + time.Now().UTC().Format(time.RFC3339)}, ns)
	require.Error(t, err, out)
	assert.Contains(t, out, "TIME needs the in-cluster server's backups in an object store")
}

// runJobFrom starts a Job from a CronJob and waits until it completes.
func runJobFrom(t *testing.T, namespace, cronJob, job string) {
	t.Helper()
	_, err := kubectl(t, "create", "job", job, "-n", namespace, "--from=cronjob/"+cronJob)
	require.NoError(t, err)
	waitFor(t, "job "+job+" complete", 5*time.Minute, func() bool {
		out, _ := kubectl(t, "get", "job", job, "-n", namespace, "-o", `jsonpath={.status.conditions[?(@.status=="True")].type}`)
		require.NotContains(t, out, "Failed", "job %s failed: %s", job, jobLogIn(t, namespace, job))
		return strings.Contains(out, "Complete")
	})
}

// hostPostgres is a PostgreSQL server on the host, outside the cluster: the node's
// pods reach it as they would reach a managed database.
type hostPostgres struct {
	bin, address, port, password string
}

// startHostPostgres initialises and starts a server listening on address, with
// passwords required over TCP; it is stopped and removed when the test ends.
func startHostPostgres(t *testing.T, address string) *hostPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	require.NotEmpty(t, bins, "Debian's postgresql-15 (installed with the real node's packages in CI)")
	account, err := user.Lookup("postgres")
	require.NoError(t, err)
	uid, _ := strconv.Atoi(account.Uid)
	gid, _ := strconv.Atoi(account.Gid)
	dir, err := os.MkdirTemp("", "external-postgres-")
	require.NoError(t, err)
	require.NoError(t, os.Chown(dir, uid, gid))
	listener, err := net.Listen("tcp", net.JoinHostPort(address, "0"))
	require.NoError(t, err)
	db := &hostPostgres{bin: filepath.Dir(bins[len(bins)-1]), address: address, password: "external-superuser-password",
		port: strconv.Itoa(listener.Addr().(*net.TCPAddr).Port)}
	require.NoError(t, listener.Close())
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(db.password), 0o600))
	require.NoError(t, os.Chown(pwfile, uid, gid))
	asPostgres := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(db.bin, name)}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
	}
	data := filepath.Join(dir, "data")
	asPostgres("initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256")
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = hba.WriteString("host all all 0.0.0.0/0 scram-sha-256\n") // the pods' addresses
	require.NoError(t, err)
	require.NoError(t, hba.Close())
	// TLS, as the stack requires: a certificate of the server's own.
	cert, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN="+address, "-keyout", key, "-out", cert).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, f := range []string{cert, key} {
		require.NoError(t, os.Chown(f, uid, gid))
		require.NoError(t, os.Chmod(f, 0o600))
	}
	asPostgres("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "start",
		"-o", "-c listen_addresses="+address+" -p "+db.port+" -k "+dir+" -c ssl=on -c ssl_cert_file="+cert+" -c ssl_key_file="+key)
	t.Cleanup(func() {
		_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(db.bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	return db
}

func (db *hostPostgres) sql(t *testing.T, database, statement string) string {
	t.Helper()
	return db.sqlAs(t, "postgres", db.password, database, statement)
}

func (db *hostPostgres) sqlAs(t *testing.T, role, password, database, statement string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(db.bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", db.address, "-p", db.port, "-U", role, "-d", database, "-c", statement)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", statement, out)
	return strings.TrimSpace(string(out))
}
