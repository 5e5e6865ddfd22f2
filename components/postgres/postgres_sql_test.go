//go:build e2e

package postgres

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
)

// The role scripts run against a real PostgreSQL server (Debian's, the version this
// machine has), not a model of one: the init script on a new database, the demotion on
// a database made the old way (the app role as superuser), and the demotion again.

const (
	appUser, appPassword             = "backstage", "app-pass-1"
	bootstrapPass                    = "bootstrap-pass-1"
	permissionDeniedToRunPrograms    = "must be superuser or have privileges of the pg_execute_server_program role"
	permissionDeniedToRunProgramsOld = "must be superuser to COPY to or from an external program"
)

func TestRoleScriptsOnARealServer(t *testing.T) {
	bin := postgresBin(t)

	t.Run("a new database: the init script makes the app role no superuser", func(t *testing.T) {
		server := startServer(t, bin, names.PostgresSuperuser, bootstrapPass)
		server.psql(t, names.PostgresSuperuser, bootstrapPass, "postgres", "CREATE DATABASE "+names.PostgresDatabase)
		server.shell(t, createAppRole, map[string]string{
			"POSTGRES_USER": names.PostgresSuperuser, "POSTGRES_DB": names.PostgresDatabase, "PGPASSWORD": bootstrapPass,
			"APP_USER": appUser, "APP_PASSWORD": appPassword,
		})
		server.assertLeastPrivilege(t)

		// The demotion Job finds nothing to do on a database made this way.
		out := server.shell(t, demoteAppRole, server.demoteEnv())
		assert.Contains(t, out, "the app role is not a superuser")
		server.assertLeastPrivilege(t)
	})

	t.Run("an old database: the Job demotes the app role and makes the superuser", func(t *testing.T) {
		// As the official image made it before: POSTGRES_USER was the app role.
		server := startServer(t, bin, appUser, appPassword)
		server.psql(t, appUser, appPassword, "postgres", "CREATE DATABASE "+names.PostgresDatabase)
		assert.Equal(t, "t", server.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))

		server.shell(t, demoteAppRole, server.demoteEnv())
		server.assertLeastPrivilege(t)
		assert.Equal(t, "t", server.psql(t, names.PostgresSuperuser, bootstrapPass, names.PostgresDatabase, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))

		server.shell(t, demoteAppRole, server.demoteEnv()) // and again: idempotent
		server.assertLeastPrivilege(t)
	})
}

// The backup keeps RETENTION complete runs, and a restore brings back what a bad
// migration or a deleted table took, into the running server.
func TestBackupAndRestoreScriptsOnARealServer(t *testing.T) {
	server := startBackstageServer(t)

	backups := t.TempDir()
	env := map[string]string{
		"PGUSER": appUser, "PGPASSWORD": appPassword, "PGDATABASE": names.PostgresDatabase,
		"BACKUP_DIR": backups, "RETENTION": "2",
	}
	for range 3 {
		out := server.shell(t, backupScript, env)
		assert.Contains(t, out, "dumped backstage_plugin_catalog")
		assert.Contains(t, out, "dumped backstage_plugin_search")
		time.Sleep(1100 * time.Millisecond) // one folder per second
	}
	complete, err := filepath.Glob(filepath.Join(backups, "*", "COMPLETE"))
	require.NoError(t, err)
	assert.Len(t, complete, 2, "the newest RETENTION complete backups are kept")

	// A bad migration: a table gone, rows changed.
	server.psql(t, appUser, appPassword, names.PostgresDatabase, "DROP TABLE entities")
	server.psql(t, appUser, appPassword, "backstage_plugin_search", "DELETE FROM documents")
	out := server.shell(t, restoreScript, env)
	assert.Contains(t, out, "restored backstage_plugin_catalog")
	assert.Equal(t, "service-a,service-b", server.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT string_agg(name, ',' ORDER BY id) FROM entities"))
	assert.Equal(t, "7", server.psql(t, appUser, appPassword, "backstage_plugin_search", "SELECT string_agg(id::text, ',') FROM documents"))

	// A named backup, into a server that lost a whole database.
	server.psql(t, appUser, appPassword, names.PostgresDatabase, "DROP DATABASE backstage_plugin_search")
	named := filepath.Base(filepath.Dir(complete[0]))
	env["BACKUP"] = named
	assert.Contains(t, server.shell(t, restoreScript, env), "restored backup "+named)
	assert.Equal(t, "7", server.psql(t, appUser, appPassword, "backstage_plugin_search", "SELECT string_agg(id::text, ',') FROM documents"))

	env["BACKUP"] = "20000101T000000Z"
	missing, err := server.tryShell(restoreScript, env)
	require.Error(t, err, "a backup that does not exist is refused")
	assert.Contains(t, missing, "no complete backup 20000101T000000Z")

	// A load that fails fails the restore, and says what to do: psql refused by the server
	// (here a database the app role may no longer connect to), and a dump pg_restore
	// cannot read.
	env["BACKUP"] = named
	server.psql(t, names.PostgresSuperuser, bootstrapPass, "backstage_plugin_search", "REVOKE CONNECT ON DATABASE backstage_plugin_search FROM PUBLIC, "+appUser)
	refused, err := server.tryShell(restoreScript, env)
	require.Error(t, err, "the server refused psql: %s", refused)
	assert.Contains(t, refused, "backstage_plugin_search.dump failed: backstage_plugin_search may be partly restored")
	server.psql(t, names.PostgresSuperuser, bootstrapPass, "backstage_plugin_search", "GRANT CONNECT ON DATABASE backstage_plugin_search TO "+appUser)
	require.NoError(t, os.Truncate(filepath.Join(backups, named, "backstage_plugin_catalog.dump"), 100))
	unreadable, err := server.tryShell(restoreScript, env)
	require.Error(t, err, "pg_restore could not read the dump: %s", unreadable)
	assert.Contains(t, unreadable, "backstage_plugin_catalog.dump failed: backstage_plugin_catalog may be partly restored")
}

// startBackstageServer is a server as Backstage leaves it: the app role, and a database
// per plugin it owns, with rows (entities in the catalog's, documents in search's).
func startBackstageServer(t *testing.T) *sqlServer {
	t.Helper()
	server := startServer(t, postgresBin(t), names.PostgresSuperuser, bootstrapPass)
	server.psql(t, names.PostgresSuperuser, bootstrapPass, "postgres", "CREATE DATABASE "+names.PostgresDatabase)
	server.shell(t, createAppRole, map[string]string{
		"POSTGRES_USER": names.PostgresSuperuser, "POSTGRES_DB": names.PostgresDatabase, "PGPASSWORD": bootstrapPass,
		"APP_USER": appUser, "APP_PASSWORD": appPassword,
	})
	server.psql(t, appUser, appPassword, names.PostgresDatabase, "CREATE DATABASE backstage_plugin_search")
	server.psql(t, appUser, appPassword, names.PostgresDatabase, "CREATE TABLE entities (id int PRIMARY KEY, name text); INSERT INTO entities VALUES (1, 'service-a'), (2, 'service-b')")
	server.psql(t, appUser, appPassword, "backstage_plugin_search", "CREATE TABLE documents (id int); INSERT INTO documents VALUES (7)")
	return server
}

// The copy to a new major's server keeps every database and row, leaves the app role
// able to log in to both servers afterwards, and does nothing when run again. Debian
// ships one major here, so both servers are 15: the majors differ only on a real node.
func TestMajorCopyOnARealServer(t *testing.T) {
	bin := postgresBin(t)
	initialised := func() *sqlServer {
		server := startServer(t, bin, names.PostgresSuperuser, bootstrapPass)
		server.psql(t, names.PostgresSuperuser, bootstrapPass, "postgres", "CREATE DATABASE "+names.PostgresDatabase)
		server.shell(t, createAppRole, map[string]string{
			"POSTGRES_USER": names.PostgresSuperuser, "POSTGRES_DB": names.PostgresDatabase, "PGPASSWORD": bootstrapPass,
			"APP_USER": appUser, "APP_PASSWORD": appPassword,
		})
		return server
	}
	old, fresh := initialised(), initialised()
	old.psql(t, appUser, appPassword, names.PostgresDatabase, "CREATE TABLE entities (id int PRIMARY KEY, name text); INSERT INTO entities SELECT g, 'entity-' || g FROM generate_series(1, 500) g")
	old.psql(t, appUser, appPassword, names.PostgresDatabase, "CREATE DATABASE backstage_plugin_scaffolder")
	old.psql(t, appUser, appPassword, "backstage_plugin_scaffolder", "CREATE TABLE tasks (id int); INSERT INTO tasks VALUES (1), (2)")

	env := map[string]string{
		"FROM_HOST": "127.0.0.1", "FROM_PORT": old.port, "FROM_MAJOR": "14",
		"TO_HOST": "127.0.0.1", "TO_PORT": fresh.port,
		"PGDATABASE": names.PostgresDatabase, "APP_USER": appUser,
		"BOOTSTRAP_USER": names.PostgresSuperuser, "BOOTSTRAP_PASSWORD": bootstrapPass,
	}
	out := fresh.shell(t, copyToNewMajor, env)
	assert.Contains(t, out, "copied from PostgreSQL 14: backstage_plugin_catalog,backstage_plugin_scaffolder,postgres")
	assert.Contains(t, out, "app sessions ended")

	assert.Equal(t, "500", fresh.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT count(*) FROM entities"))
	assert.Equal(t, "1,2", fresh.psql(t, appUser, appPassword, "backstage_plugin_scaffolder", "SELECT string_agg(id::text, ',' ORDER BY id) FROM tasks"))
	assert.Equal(t, appUser, fresh.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'backstage_plugin_scaffolder'"))
	fresh.assertLeastPrivilege(t)
	assert.Equal(t, "500", old.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT count(*) FROM entities"), "the old server is the fallback, as it was")

	fresh.psql(t, appUser, appPassword, names.PostgresDatabase, "INSERT INTO entities VALUES (501, 'written after the copy')")
	assert.Contains(t, fresh.shell(t, copyToNewMajor, env), "already copied from PostgreSQL 14")
	assert.Equal(t, "501", fresh.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT count(*) FROM entities"), "a rerun overwrites nothing")

	// A failed load fails the Job and leaves the old server open to the app again.
	broken := initialised()
	broken.psql(t, names.PostgresSuperuser, bootstrapPass, names.PostgresDatabase, "CREATE TABLE entities (id int)")
	env["TO_PORT"] = broken.port
	cmd := exec.Command("sh", "-c", copyToNewMajor)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	failed, err := cmd.CombinedOutput()
	require.Error(t, err, "a table already on the new server is an unexpected error")
	assert.Contains(t, string(failed), `relation "entities" already exists`)
	assert.Equal(t, "500", old.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT count(*) FROM entities"), "the app role logs in to the old server again")
}

type sqlServer struct {
	bin, port, dir string
	// options and env are the server's extra options and process environment.
	options string
	env     []string
}

// postgresBin finds the server binaries Debian installs outside PATH.
func postgresBin(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			return filepath.Dir(real) // where psql and pg_ctl are too
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 && os.Getenv("CI") == "" {
		t.Skip("no PostgreSQL server here: `make test SYSTEM_PACKAGES=1` installs Debian's postgresql-15 (CI does)")
	}
	require.NotEmpty(t, matches, "no PostgreSQL server here: CI installs Debian's postgresql-15 before the tests")
	return filepath.Dir(matches[len(matches)-1])
}

// startServer initialises and starts a throwaway server as the postgres system user,
// with passwords required on the socket and on TCP, as the StatefulSet's is. The port
// is one the kernel just gave out, so another server or test on the machine cannot hold
// it; a failed start shows the server's own log.
func startServer(t *testing.T, bin, superuser, password string) *sqlServer {
	t.Helper()
	return startServerWith(t, bin, superuser, password, "", nil)
}

// startServerWith starts it with more server options (-c name=value...) and more
// environment for the server's process, which its archive_command inherits.
func startServerWith(t *testing.T, bin, superuser, password, options string, env []string) *sqlServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "pg-role-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pwfile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwfile, []byte(password), 0o600))
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		require.NoError(t, exec.Command("chown", "-R", "postgres:postgres", dir).Run())
	}
	s := &sqlServer{bin: bin, dir: dir, options: options, env: env}
	s.run(t, filepath.Join(bin, "initdb"), "-D", s.data(), "-U", superuser, "--pwfile", pwfile,
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256")
	s.start(t)
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *sqlServer) data() string { return filepath.Join(s.dir, "data") }

// start starts the server on a port the kernel just gave out (again after a stop);
// a failed start shows the server's own log.
func (s *sqlServer) start(t *testing.T) {
	t.Helper()
	logFile := filepath.Join(s.dir, "log")
	var out []byte
	var err error
	for range 3 {
		s.port = freePort(t)
		cmd := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-w", "-t", "120", "-l", logFile,
			"-o", fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 %s", s.port, s.dir, s.options), "start")
		cmd.Env = append(os.Environ(), s.env...)
		if out, err = cmd.CombinedOutput(); err == nil {
			return
		}
	}
	serverLog, _ := os.ReadFile(logFile)
	require.NoError(t, err, "pg_ctl start: %s\nserver log:\n%s", out, serverLog)
}

func (s *sqlServer) stop() {
	_ = s.command(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-m", "fast", "-w", "stop").Run()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func (s *sqlServer) command(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (s *sqlServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := s.command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

// psql runs one statement and returns its unaligned result.
func (s *sqlServer) psql(t *testing.T, user, password, db, sql string) string {
	t.Helper()
	out, err := s.tryPSQL(user, password, db, sql)
	require.NoError(t, err, out)
	return out
}

func (s *sqlServer) tryPSQL(user, password, db, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", s.port, "-U", user, "-d", db, "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// shell runs a script as the containers do, with psql on PATH and the server in PGHOST.
func (s *sqlServer) shell(t *testing.T, script string, env map[string]string) string {
	t.Helper()
	out, err := s.tryShell(script, env)
	require.NoError(t, err, "%s", out)
	return out
}

// tryShell runs a script as shell does, and returns its error instead of failing.
func (s *sqlServer) tryShell(script string, env map[string]string) (string, error) {
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+s.bin+":"+os.Getenv("PATH"), "PGHOST=127.0.0.1", "PGPORT="+s.port)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *sqlServer) demoteEnv() map[string]string {
	return map[string]string{
		"PGDATABASE": names.PostgresDatabase, "APP_USER": appUser, "APP_PASSWORD": appPassword,
		"BOOTSTRAP_USER": names.PostgresSuperuser, "BOOTSTRAP_PASSWORD": bootstrapPass,
	}
}

// assertLeastPrivilege: the app role logs in, owns its work, creates databases, and
// cannot run programs on the server.
func (s *sqlServer) assertLeastPrivilege(t *testing.T) {
	t.Helper()
	assert.Equal(t, "false|true", s.psql(t, appUser, appPassword, names.PostgresDatabase,
		"SELECT rolsuper || '|' || rolcreatedb FROM pg_roles WHERE rolname = current_user"), "no superuser, may create databases")
	dbName := fmt.Sprintf("plugin_%d", len(t.Name()))
	s.psql(t, appUser, appPassword, names.PostgresDatabase, "DROP DATABASE IF EXISTS "+dbName)
	s.psql(t, appUser, appPassword, names.PostgresDatabase, "CREATE DATABASE "+dbName)
	out, err := s.tryPSQL(appUser, appPassword, names.PostgresDatabase, "COPY (SELECT 1) TO PROGRAM 'true'")
	require.Error(t, err, "COPY TO PROGRAM must be refused")
	assert.True(t, strings.Contains(out, permissionDeniedToRunPrograms) || strings.Contains(out, permissionDeniedToRunProgramsOld), out)
	_, err = s.tryPSQL(appUser, "wrong", names.PostgresDatabase, "SELECT 1")
	assert.Error(t, err, "a wrong password is refused")
}
