//go:build e2e

package postgres

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
)

// Point-in-time recovery through a real S3-compatible server, with the pgBackRest the
// postgres image carries and the program's own settings (ObjectStore.Settings) and
// scripts: a row written before T comes back from a restore to T, a row written after
// does not; a time before the first base backup is refused; an upload that fails is
// counted where the docs tell teams to alert; a server that was never the source
// starts from the bucket alone.
func TestPointInTimeRecoveryThroughAnObjectStore(t *testing.T) {
	bin := postgresBin(t)
	pgbackrest := pgbackrestBin(t)
	store := startObjectStore(t)

	dir := postgresTempDir(t) // pgBackRest's lock and spool folder
	objectStore := ObjectStore{
		Endpoint: "localhost:" + store.port, Bucket: "backstage-backups", Prefix: "/prod",
		URIStyle: "path", CredentialsSecret: "unused-here",
	}.withDefaults()
	env := func(data, prefix string) []string {
		objectStore := objectStore
		objectStore.Prefix = prefix
		out := []string{
			"PATH=" + filepath.Dir(pgbackrest) + ":" + bin + ":" + os.Getenv("PATH"),
			"PGBACKREST_REPO1_S3_KEY=" + store.access, "PGBACKREST_REPO1_S3_KEY_SECRET=" + store.secret,
		}
		for k, v := range objectStore.Settings(data, store.caFile) {
			out = append(out, k+"="+v)
		}
		// pgBackRest retries a refused connection for several of its io-timeouts (60 s by
		// default: a failed push is counted minutes into an outage); the test
		// shortens that wait, not what is counted.
		return append(out, "PGBACKREST_LOCK_PATH="+dir, "PGBACKREST_SPOOL_PATH="+dir, "PGBACKREST_IO_TIMEOUT=5")
	}
	server := startServer(t, bin, names.PostgresSuperuser, bootstrapPass)
	superuser := func(sql string) string {
		return server.psql(t, names.PostgresSuperuser, bootstrapPass, "postgres", sql)
	}
	// The settings the StatefulSet passes as flags (archiveFlags), written where they
	// survive the restarts below; the server's environment is the pods'.
	for _, setting := range archiveSettings() {
		name, value, _ := strings.Cut(setting, "=")
		superuser(fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", name, value))
	}
	server.env = env(server.data(), "/prod")
	server.stop()
	server.start(t)
	clientEnv := map[string]string{"PGUSER": names.PostgresSuperuser, "PGPASSWORD": bootstrapPass, "PGDATABASE": "postgres", "PGBACKREST_PG1_PORT": server.port}
	scriptAs := func(script string, env []string, extra map[string]string) (string, error) {
		cmd := server.command("sh", "-c", script)
		cmd.Env = append(os.Environ(), env...)
		cmd.Env = append(cmd.Env, "PGHOST=127.0.0.1")
		for k, v := range extra {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	beforeBackup := time.Now().UTC().Add(-time.Second)
	out, err := scriptAs(pitrRestoreScript, server.env, map[string]string{"TARGET_TIME": beforeBackup.Format(time.RFC3339)})
	require.Error(t, err, "a restore before any base backup is refused")
	assert.Contains(t, out, "has no base backup yet")

	superuser("CREATE ROLE backstage LOGIN PASSWORD 'old-app-password'")
	out, err = scriptAs(baseBackupScript, server.env, clientEnv)
	require.NoError(t, err, out)
	assert.Contains(t, out, "base backup done")

	superuser("CREATE TABLE rows (id int PRIMARY KEY, name text); INSERT INTO rows VALUES (1, 'before T')")
	time.Sleep(1100 * time.Millisecond) // the restore's target has second precision
	target := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	superuser("INSERT INTO rows VALUES (2, 'after T')")
	waitArchived(t, superuser)

	out, err = scriptAs(pitrRestoreScript, server.env, map[string]string{"TARGET_TIME": beforeBackup.Format(time.RFC3339)})
	require.Error(t, err, "a time before the first base backup is refused")
	assert.Contains(t, out, "is before the end of the first base backup")

	// The restore to T, with the server stopped, as `make restore TIME=` runs it.
	restoreStarted := time.Now()
	server.stop()
	out, err = scriptAs(pitrRestoreScript, server.env, map[string]string{"TARGET_TIME": target.Format(time.RFC3339)})
	require.NoError(t, err, out)
	server.start(t)
	waitPromoted(t, superuser)
	t.Logf("the restore to T took %s from the server's stop to a promoted server", time.Since(restoreStarted).Round(100*time.Millisecond))
	assert.Equal(t, "1:before T", superuser("SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM rows"),
		"the row written before T is back, the one after T is not")

	// Archiving goes on after the restore, on the new timeline.
	superuser("INSERT INTO rows VALUES (3, 'after the restore')")
	waitArchived(t, superuser)

	// A failed upload is counted in pg_stat_archiver, and archiving catches up once the
	// store answers again.
	store.stop()
	failedBefore := superuser("SELECT failed_count FROM pg_stat_archiver")
	superuser("INSERT INTO rows VALUES (4, 'while the store is down'); SELECT pg_switch_wal()")
	stopped := time.Now()
	require.Eventually(t, func() bool {
		return superuser("SELECT failed_count FROM pg_stat_archiver") != failedBefore
	}, 90*time.Second, time.Second, "a failed push is counted in pg_stat_archiver.failed_count")
	t.Logf("a failed push was counted %s after the store stopped", time.Since(stopped).Round(time.Second))
	store.start(t)
	waitArchived(t, superuser)

	// A new stack's server, in another folder and with a folder of its own in the bucket,
	// from the bucket alone: the end of the first stack's archive.
	fresh := filepath.Join(server.dir, "fresh")
	require.NoError(t, os.Mkdir(fresh, 0o700))
	if os.Geteuid() == 0 {
		require.NoError(t, exec.Command("chown", "postgres:postgres", fresh).Run())
	}
	freshEnv := env(fresh, "/staging")
	// The init container: the restore, the replay, and this stack's passwords.
	bootstrapStarted := time.Now()
	out, err = scriptAs(bootstrapScript, freshEnv, map[string]string{
		"PGDATA": fresh, "RESTORE_FROM": "/prod", "PITR_RESTORE": pitrRestoreScript, "PGPORT": freePort(t),
		"POSTGRES_USER": names.PostgresSuperuser, "POSTGRES_PASSWORD": "new-superuser-password",
		"APP_USER": "backstage", "APP_PASSWORD": "new-app-password",
	})
	require.NoError(t, err, out)
	assert.Contains(t, out, "bootstrap: restored from /prod")
	other := &sqlServer{bin: bin, dir: server.dir, env: freshEnv}
	server.stop()
	startAt(t, other, fresh)
	otherSQL := func(sql string) string {
		return other.psql(t, names.PostgresSuperuser, "new-superuser-password", "postgres", sql)
	}
	require.Equal(t, "f", otherSQL("SELECT pg_is_in_recovery()"), "the bootstrap hands over a promoted server")
	t.Logf("a new server from the bucket alone answered %s after its init container started", time.Since(bootstrapStarted).Round(100*time.Millisecond))
	assert.Equal(t, "1,3,4", otherSQL("SELECT string_agg(id::text, ',' ORDER BY id) FROM rows"),
		"a server restored from the bucket alone has every archived row")
	assert.Equal(t, "backstage", other.psql(t, "backstage", "new-app-password", "postgres", "SELECT current_user"),
		"the app role logs in with the new stack's password")
	_, err = other.tryPSQL("backstage", "old-app-password", "postgres", "SELECT 1")
	assert.Error(t, err, "the source stack's password no longer works")
	// A second start of the init container leaves the database alone.
	out, err = scriptAs(bootstrapScript, freshEnv, map[string]string{"PGDATA": fresh})
	require.NoError(t, err, out)
	assert.Contains(t, out, "holds a database already")
	clientEnv["PGPASSWORD"] = "new-superuser-password"
	// It backs up and archives to its own folder, not the first stack's.
	clientEnv["PGBACKREST_PG1_PORT"] = other.port
	out, err = scriptAs(baseBackupScript, freshEnv, clientEnv)
	require.NoError(t, err, out)
	waitArchived(t, otherSQL)
	out, err = scriptAs("pgbackrest repo-ls --recurse archive | grep -c '[.]gz$'", freshEnv, nil)
	require.NoError(t, err, out)
	assert.NotEqual(t, "0", strings.TrimSpace(out), "the new stack archives WAL into its own folder")
}

// postgresTempDir is a folder the postgres user the server runs as may use.
func postgresTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgbackrest-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		require.NoError(t, exec.Command("chown", "postgres:postgres", dir).Run())
	}
	return dir
}

// startAt starts a server on another data folder than the test's first.
func startAt(t *testing.T, s *sqlServer, data string) {
	t.Helper()
	s.port = freePort(t)
	cmd := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", data, "-w", "-t", "120", "-l", filepath.Join(s.dir, "fresh.log"),
		"-o", "-p "+s.port+" -k "+s.dir+" -c listen_addresses=127.0.0.1 "+s.options, "start")
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	serverLog, _ := os.ReadFile(filepath.Join(s.dir, "fresh.log"))
	require.NoError(t, err, "%s\n%s", out, serverLog)
	t.Cleanup(func() { _ = s.command(filepath.Join(s.bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run() })
}

// waitArchived switches to a new WAL segment and waits until the archiver has pushed it.
func waitArchived(t *testing.T, sql func(string) string) {
	t.Helper()
	segment := sql("SELECT pg_walfile_name(pg_switch_wal())")
	require.Eventually(t, func() bool {
		last := sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
		return last != "" && last[8:] >= segment[8:] // the timeline may have moved on
	}, 90*time.Second, 500*time.Millisecond, "segment %s is archived", segment)
}

func waitPromoted(t *testing.T, sql func(string) string) {
	t.Helper()
	require.Eventually(t, func() bool { return sql("SELECT pg_is_in_recovery()") == "f" },
		90*time.Second, 500*time.Millisecond, "the restored server reaches its target and is promoted")
}

// pgbackrestBin is Debian's pgbackrest, which CI installs beside postgresql-15.
func pgbackrestBin(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("pgbackrest")
	if err != nil && os.Getenv("CI") == "" {
		t.Skip("no pgbackrest here: `make test SYSTEM_PACKAGES=1` installs Debian's (CI does)")
	}
	require.NoError(t, err, "CI installs Debian's pgbackrest before the tests")
	return path
}

type objectStoreServer struct {
	bin, root, port, caFile, certFile, keyFile, access, secret string
	cmd                                                        *exec.Cmd
}

// startObjectStore runs versitygw over a folder, with TLS (pgBackRest speaks HTTPS only)
// from a CA made here for localhost.
func startObjectStore(t *testing.T) *objectStoreServer {
	t.Helper()
	dir := postgresTempDir(t) // the CA must be readable by the server's user
	s := &objectStoreServer{
		bin: toolBin(t, "versitygw"), root: filepath.Join(dir, "root"), access: "backup-test", secret: "backup-test-secret",
		caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"),
	}
	require.NoError(t, os.MkdirAll(filepath.Join(s.root, "backstage-backups"), 0o755))
	writeLocalhostCertificate(t, s.caFile, s.certFile, s.keyFile)
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *objectStoreServer) start(t *testing.T) {
	t.Helper()
	if s.port == "" {
		s.port = freePort(t)
	}
	s.cmd = exec.Command(s.bin, "--port", "127.0.0.1:"+s.port, "--access", s.access, "--secret", s.secret,
		"--cert", s.certFile, "--key", s.keyFile, "posix", s.root)
	logFile, err := os.Create(filepath.Join(filepath.Dir(s.root), "versitygw.log"))
	require.NoError(t, err)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	require.NoError(t, s.cmd.Start())
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+s.port)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "versitygw listens")
}

func (s *objectStoreServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// toolBin is one of the object-store tests' tools (versitygw, the S3 server; rclone) at
// the version tools/<name>/go.mod pins, built by tools/build.sh when missing.
func toolBin(t *testing.T, name string) string {
	t.Helper()
	build := filepath.Join("..", "..", "tools", "build.sh")
	dir, err := exec.Command(build, "--bin").Output()
	require.NoError(t, err)
	bin := filepath.Join(strings.TrimSpace(string(dir)), name)
	if _, err := os.Stat(bin); err != nil {
		out, err := exec.Command(build, "objectstore").CombinedOutput()
		require.NoError(t, err, "tools/build.sh objectstore: %s", out)
	}
	return bin
}

// writeLocalhostCertificate writes a CA and a certificate for localhost it signed. The
// files are readable by the postgres user the server runs as.
func writeLocalhostCertificate(t *testing.T, caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "backup test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	for file, block := range map[string]*pem.Block{
		caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(block), 0o644))
	}
}
