//go:build e2e

package postgres

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
)

// An external database's dumps through a real S3-compatible server, with the rclone
// the pinned image carries (tools/rclone builds it at the image's tag), the program's
// settings (ObjectStore.RcloneSettings) and scripts: the runs stream to the bucket,
// encrypted when asked, the retention removes old runs there, a restore into a server
// that lost its data (a fresh cluster's: nothing but the bucket) brings it back, and a
// run whose pg_dump fails is never marked complete.
func TestDumpsOfAnExternalDatabaseThroughAnObjectStore(t *testing.T) {
	rclone := toolBin(t, "rclone")
	store := startObjectStore(t)
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "encrypted"}[encrypted]
		t.Run(name, func(t *testing.T) {
			server := startBackstageServer(t)

			objectStore := ObjectStore{
				Endpoint: "localhost:" + store.port, Bucket: "backstage-backups", Prefix: "/external-" + name,
				URIStyle: "path", CredentialsSecret: "unused-here", RetentionDays: 1,
			}
			if encrypted {
				objectStore.EncryptionSecret = "unused-here"
			}
			objectStore = objectStore.withDefaults()
			env := map[string]string{
				"PGUSER": appUser, "PGPASSWORD": appPassword, "PGDATABASE": names.PostgresDatabase,
				"TOOLS": filepath.Dir(rclone), "RCLONE_CONFIG_STORE_ACCESS_KEY_ID": store.access, "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY": store.secret,
			}
			for k, v := range objectStore.RcloneSettings(store.caFile) {
				env[k] = v
			}
			if encrypted {
				env["ENCRYPTION_PASSPHRASE"] = "a passphrase the team holds"
			}
			folder := filepath.Join(store.root, "backstage-backups", "external-"+name, DumpsFolder)
			rcloneRun := func(args ...string) string {
				cmd := exec.Command(rclone, args...)
				cmd.Env = os.Environ()
				for k, v := range env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				if encrypted {
					obscured, err := exec.Command(rclone, "obscure", env["ENCRYPTION_PASSPHRASE"]).Output()
					require.NoError(t, err)
					cmd.Env = append(cmd.Env, "RCLONE_CONFIG_SEALED_PASSWORD="+strings.TrimSpace(string(obscured)))
				}
				out, err := cmd.Output()
				require.NoError(t, err, "rclone %v: %s", args, out)
				return strings.TrimSpace(string(out))
			}
			// The runs the bucket holds, and whether each is complete, as rclone reads them.
			runs := func() map[string]bool {
				out := map[string]bool{}
				for _, line := range strings.Fields(rcloneRun("lsf", "-R", "--files-only", env["DUMPS"])) {
					run, file, _ := strings.Cut(line, "/")
					out[run] = out[run] || file == "COMPLETE"
				}
				return out
			}

			out := server.shell(t, dumpToBucketScript, env)
			assert.Contains(t, out, "uploaded backstage_plugin_catalog")
			assert.Contains(t, out, "uploaded backstage_plugin_search")
			first := runs()
			require.Len(t, first, 1, out)
			run := slices.Collect(maps.Keys(first))[0]
			assert.True(t, first[run], "the run is complete")
			// A run from before the retention (a copy, under an old time), which the next removes.
			rcloneRun("copy", env["DUMPS"]+"/"+run, env["DUMPS"]+"/20000101T000000Z")
			require.Len(t, runs(), 2)
			time.Sleep(1100 * time.Millisecond) // one folder per second
			out = server.shell(t, dumpToBucketScript, env)
			assert.Contains(t, out, "removed 20000101T000000Z (older than 1 days)")
			after := runs()
			assert.Len(t, after, 2, "the old run is gone, the first and the new are kept: %v", after)
			assert.NotContains(t, after, "20000101T000000Z")

			// What the bucket's owner sees: pg_dump's custom format (PGDMP), or rclone's
			// encrypted files (RCLONE), whose names are encrypted too.
			var files []string
			require.NoError(t, filepath.Walk(folder, func(path string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && info.Size() > 0 {
					files = append(files, path)
				}
				return err
			}))
			// Two runs of two dumps; encrypted, each COMPLETE marker has a header too.
			require.Len(t, files, map[bool]int{false: 4, true: 6}[encrypted])
			magic := map[bool]string{false: "PGDMP", true: "RCLONE"}[encrypted]
			for _, file := range files {
				content, err := os.ReadFile(file)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(string(content), magic), "%s starts with %q", file, magic)
				assert.Equal(t, !encrypted, strings.Contains(file, "backstage_plugin_"), "names in the clear only without encryption: %s", file)
			}

			// A new cluster: nothing left of the databases, only the bucket.
			server.psql(t, appUser, appPassword, names.PostgresDatabase, "DROP TABLE entities")
			server.psql(t, appUser, appPassword, names.PostgresDatabase, "DROP DATABASE backstage_plugin_search")
			out = server.shell(t, restoreFromBucketScript, env)
			newest := slices.Max(slices.Collect(maps.Keys(after)))
			assert.Contains(t, out, "restored backup "+newest+" from the bucket", "the newest complete run")
			assert.Equal(t, "service-a,service-b", server.psql(t, appUser, appPassword, names.PostgresDatabase, "SELECT string_agg(name, ',' ORDER BY id) FROM entities"))
			assert.Equal(t, "7", server.psql(t, appUser, appPassword, "backstage_plugin_search", "SELECT string_agg(id::text, ',') FROM documents"))

			// A named run that is not there is refused.
			env["BACKUP"] = "20000101T000000Z"
			failed, err := server.tryShell(restoreFromBucketScript, env)
			require.Error(t, err, "a backup that does not exist is refused")
			assert.Contains(t, failed, "no complete backup 20000101T000000Z")
			delete(env, "BACKUP")

			// A pg_dump that fails (the role may no longer read a database) leaves its run
			// incomplete: the job fails, and the newest complete run stays the restore's.
			server.psql(t, names.PostgresSuperuser, bootstrapPass, "backstage_plugin_search", "REVOKE ALL ON TABLE documents FROM PUBLIC; ALTER TABLE documents OWNER TO postgres")
			time.Sleep(1100 * time.Millisecond)
			failed, err = server.tryShell(dumpToBucketScript, env)
			require.Error(t, err, "a failed pg_dump fails the run: %s", failed)
			assert.Contains(t, failed, "stays incomplete")
			incomplete := runs()
			assert.Len(t, incomplete, 3, "the failed run's folder is there: %v", incomplete)
			for run, complete := range incomplete {
				assert.Equal(t, after[run], complete, "%s: only the two earlier runs are complete", run)
			}
		})
	}
}
