package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

const objectStoreCA = "-----BEGIN CERTIFICATE-----store-ca"

// withObjectStore is a stack whose in-cluster server backs up to a bucket: store's
// fields over an endpoint, a bucket and a credentials Secret. Production's pinned
// official image is removed, as the error for it says.
func withObjectStore(t *testing.T, stack, store string) stackConfig {
	t.Helper()
	fields := `"endpoint":"s3.eu-west-1.amazonaws.com","bucket":"acme-backstage-backups"`
	if !strings.Contains(store, `"credentialsSecret"`) && !strings.Contains(store, `"serviceAccountAnnotations"`) {
		fields += `,"credentialsSecret":"backup-keys"`
	}
	if store != "" {
		fields += "," + store
	}
	return loadStack(t, stack).with("postgresImage", "<unset>").with("backup", `{"objectStore":{`+fields+`}}`)
}

func majorOf(t *testing.T, cfg stackConfig) int {
	n, err := strconv.Atoi(cfg.values["backstage:postgresMajorVersion"])
	require.NoError(t, err)
	return n
}

// podOf is the pod template of a CronJob or a Job.
func podOf(res registered) resource.PropertyMap {
	if res.Type == typeCronJob {
		return get(res.Inputs, "spec", "jobTemplate", "spec", "template", "spec").ObjectValue()
	}
	return get(res.Inputs, "spec", "template", "spec").ObjectValue()
}

func TestObjectStoreArchivesEveryWALSegmentAndBacksUpOnTheSchedule(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := withObjectStore(t, stack, `"caBundle":"`+objectStoreCA+`"`)
			rec := mustRun(t, cfg)
			namespace := cfg.values["backstage:namespace"]

			sts := rec.kube(t, typeStatefulSet, names.PostgresName)
			server := get(sts.Inputs, "spec", "template", "spec", "containers", "0").ObjectValue()
			assert.Equal(t, pins.PgBackRestImage(majorOf(t, cfg)), str(server, "image"), "the pinned image of the stack's major, with pgBackRest")
			var args []string
			for _, a := range get(server, "args").ArrayValue() {
				args = append(args, a.StringValue())
			}
			for _, setting := range []string{"archive_mode=on", "archive_command=" + postgres.ArchiveCommand, "archive_timeout=" + postgres.ArchiveTimeout} {
				assert.Contains(t, args, setting)
			}
			env := envByName(server)
			assert.Equal(t, "acme-backstage-backups", env["PGBACKREST_REPO1_S3_BUCKET"])
			assert.Equal(t, "s3.eu-west-1.amazonaws.com", env["PGBACKREST_REPO1_S3_ENDPOINT"])
			assert.Equal(t, "443", env["PGBACKREST_REPO1_STORAGE_PORT"])
			assert.Equal(t, "/"+namespace, env["PGBACKREST_REPO1_PATH"], "one folder per stack, the namespace's by default")
			assert.Equal(t, strconv.Itoa(postgres.DefaultRetentionDays), env["PGBACKREST_REPO1_RETENTION_FULL"])
			assert.Equal(t, "time", env["PGBACKREST_REPO1_RETENTION_FULL_TYPE"])
			assert.Equal(t, "secret:backup-keys/AWS_ACCESS_KEY_ID", env["PGBACKREST_REPO1_S3_KEY"])
			assert.Equal(t, "secret:backup-keys/AWS_SECRET_ACCESS_KEY", env["PGBACKREST_REPO1_S3_KEY_SECRET"])
			assert.NotContains(t, env, "PGBACKREST_REPO1_S3_KEY_TYPE")
			assert.Equal(t, "/etc/pgbackrest/ca/ca.crt", env["PGBACKREST_REPO1_STORAGE_CA_FILE"])
			assert.Equal(t, "/etc/pgbackrest/ca", mountPath(server, "object-store-ca"))
			ca := rec.kube(t, typeConfigMap, postgres.ObjectStoreCAName)
			assert.Equal(t, objectStoreCA, str(ca.Inputs, "data", "ca.crt"))

			backup := rec.kube(t, typeCronJob, postgres.BaseBackupCronJobName)
			assert.Equal(t, "false", str(backup.Inputs, "spec", "suspend"))
			assert.Equal(t, "Forbid", str(backup.Inputs, "spec", "concurrencyPolicy"))
			pod := podOf(backup)
			c := get(pod, "containers", "0").ObjectValue()
			assert.Equal(t, str(server, "image"), str(c, "image"), "the server's pgBackRest")
			benv := envByName(c)
			for _, key := range []string{"PGBACKREST_REPO1_S3_BUCKET", "PGBACKREST_REPO1_PATH", "PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_STORAGE_CA_FILE", "PGBACKREST_STANZA"} {
				assert.Equal(t, env[key], benv[key], "%s: the backup and the archive are one repository", key)
			}
			assert.Equal(t, "postgres", benv["PGUSER"], "pgBackRest's backup functions need the superuser")
			assert.Equal(t, "secret:"+names.PostgresBootstrapSecretName+"/password", benv["PGPASSWORD"])
			assert.Equal(t, postgres.DataClaimName(names.PostgresName), str(get(pod, "volumes").ArrayValue()[volumeIndex(pod, "data")].ObjectValue(), "persistentVolumeClaim", "claimName"))
			term := get(pod, "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "0").ObjectValue()
			assert.Equal(t, "kubernetes.io/hostname", str(term, "topologyKey"), "beside the server, whose claim is ReadWriteOnce")
			assert.Equal(t, "postgres", str(term, "labelSelector", "matchLabels", "app"))

			restore := rec.kube(t, typeCronJob, postgres.PITRRestoreCronJobName)
			assert.Equal(t, "true", str(restore.Inputs, "spec", "suspend"), "restores run only by hand")
			assert.True(t, get(podOf(restore), "affinity").IsNull(), "the server is stopped while it runs")

			first := rec.kube(t, typeJob, postgres.FirstBackupJobName)
			assert.True(t, dependsOn(first, sts.Name), "after the server starts archiving: %v", first.Dependencies)

			assert.Empty(t, rec.ofTypeNamed(typeCronJob, "backstage-backup"), "no pg_dump to a claim beside the bucket")
			for _, claim := range rec.ofType("kubernetes:core/v1:PersistentVolumeClaim") {
				assert.NotEqual(t, "backstage-backups", str(claim.Inputs, "metadata", "name"))
			}

			egress := rec.kube(t, typeNetPol, "object-store-egress")
			rule := get(egress.Inputs, "spec", "egress", "0").ObjectValue()
			assert.Equal(t, "443", str(rule, "ports", "0", "port"))
			assert.Equal(t, "0.0.0.0/0", str(rule, "to", "0", "ipBlock", "cidr"), "every public address, by default")
		})
	}
}

func volumeIndex(pod resource.PropertyMap, name string) int {
	for i, v := range get(pod, "volumes").ArrayValue() {
		if str(v.ObjectValue(), "name") == name {
			return i
		}
	}
	return -1
}

// A cloud identity instead of keys: the ServiceAccount carries the annotations, and
// every pod that reaches the bucket runs as it with pgBackRest's web-id keys.
func TestObjectStoreWithWorkloadIdentity(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/backstage-backups"
	rec := mustRun(t, withObjectStore(t, "prod", `"serviceAccountAnnotations":{"eks.amazonaws.com/role-arn":"`+role+`"},"cidrs":["52.218.0.0/17"],"endpoint":"s3.example.com:9443","encryptionSecret":"backup-passphrase"`))
	sa := rec.kube(t, typeSA, postgres.BackupServiceAccountName)
	assert.Equal(t, role, str(sa.Inputs, "metadata", "annotations", "eks.amazonaws.com/role-arn"))
	assert.Equal(t, "false", str(sa.Inputs, "automountServiceAccountToken"), "no Kubernetes rights")
	for _, pod := range []resource.PropertyMap{
		get(rec.kube(t, typeStatefulSet, names.PostgresName).Inputs, "spec", "template", "spec").ObjectValue(),
		podOf(rec.kube(t, typeCronJob, postgres.BaseBackupCronJobName)),
		podOf(rec.kube(t, typeCronJob, postgres.PITRRestoreCronJobName)),
		podOf(rec.kube(t, typeJob, postgres.FirstBackupJobName)),
	} {
		assert.Equal(t, postgres.BackupServiceAccountName, str(pod, "serviceAccountName"))
		env := envByName(get(pod, "containers", "0").ObjectValue())
		assert.Equal(t, "web-id", env["PGBACKREST_REPO1_S3_KEY_TYPE"])
		assert.NotContains(t, env, "PGBACKREST_REPO1_S3_KEY")
		assert.Equal(t, "9443", env["PGBACKREST_REPO1_STORAGE_PORT"])
		assert.Equal(t, "s3.example.com", env["PGBACKREST_REPO1_S3_ENDPOINT"])
		assert.Equal(t, "aes-256-cbc", env["PGBACKREST_REPO1_CIPHER_TYPE"])
		assert.Equal(t, "secret:backup-passphrase/passphrase", env["PGBACKREST_REPO1_CIPHER_PASS"], "the team's key, from a Secret only")
	}
	egress := get(rec.kube(t, typeNetPol, "object-store-egress").Inputs, "spec", "egress", "0").ObjectValue()
	assert.Equal(t, "9443", str(egress, "ports", "0", "port"))
	assert.Equal(t, "52.218.0.0/17", str(egress, "to", "0", "ipBlock", "cidr"))
	assert.Len(t, get(egress, "to").ArrayValue(), 1, "the store's addresses only")
}

// A new stack that starts from another stack's folder: an init container restores the
// end of that archive on an empty volume, and the server then archives to its own.
func TestObjectStoreRestoreFromBootstrapsANewStack(t *testing.T) {
	rec := mustRun(t, withObjectStore(t, "dev", `"restoreFrom":"/backstage-prod"`))
	pod := get(rec.kube(t, typeStatefulSet, names.PostgresName).Inputs, "spec", "template", "spec").ObjectValue()
	var bootstrap resource.PropertyMap
	for _, c := range get(pod, "initContainers").ArrayValue() {
		if str(c.ObjectValue(), "name") == "bootstrap-from-bucket" {
			bootstrap = c.ObjectValue()
		}
	}
	require.NotNil(t, bootstrap, "an init container restores from the bucket")
	env := envByName(bootstrap)
	assert.Equal(t, "/backstage-prod", env["RESTORE_FROM"])
	assert.Equal(t, "/backstage", env["PGBACKREST_REPO1_PATH"], "it archives to its own folder")
	assert.Contains(t, env["PITR_RESTORE"], "pgbackrest")
	assert.Equal(t, "writable: /var/lib/postgresql/data", mountPath(bootstrap, "data"), "the server's data folder")
	server := get(pod, "containers", "0").ObjectValue()
	assert.Equal(t, str(server, "image"), str(bootstrap, "image"))

	without := mustRun(t, withObjectStore(t, "dev", ""))
	assert.NotContains(t, fmt.Sprint(plain(get(without.kube(t, typeStatefulSet, names.PostgresName).Inputs, "spec", "template", "spec", "initContainers"))),
		"bootstrap-from-bucket", "only a stack that names restoreFrom restores")
}

// An external database's dumps stream to the bucket: rclone, copied from its pinned
// image into the postgres image's pod, with the bucket's settings and keys from their
// Secrets; no claim, and the restore reads the bucket. The egress policy lets the
// backup pods reach the store.
func TestObjectStoreTakesAnExternalDatabasesDumps(t *testing.T) {
	for _, tc := range []struct {
		name, store string
		identity    bool
	}{
		{name: "keys and a private CA", store: `"caBundle":"` + objectStoreCA + `","uriStyle":"path","retentionDays":30`},
		{name: "a cloud identity and the team's key", store: `"serviceAccountAnnotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/b"},"encryptionSecret":"backup-passphrase","prefix":"/prod-dumps"`, identity: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withExternalDatabase(t, "prod")
			cfg.values["backstage:backup"] = withObjectStore(t, "prod", tc.store).values["backstage:backup"]
			rec := mustRun(t, cfg)
			namespace := cfg.values["backstage:namespace"]
			assert.Empty(t, rec.ofTypeNamed(typeStatefulSet, names.PostgresName), "no in-cluster server")
			assert.Empty(t, rec.ofTypeNamed(typeCronJob, postgres.BaseBackupCronJobName), "no pgBackRest for a server the stack does not run")
			for _, claim := range rec.ofType("kubernetes:core/v1:PersistentVolumeClaim") {
				assert.NotEqual(t, postgres.BackupClaimName, str(claim.Inputs, "metadata", "name"), "the bucket replaces the claim")
			}
			for _, cronJob := range []struct {
				name, script string
				suspended    bool
			}{{postgres.BackupCronJobName, "rclone rcat", false}, {postgres.RestoreJobName, "pg_restore", true}} {
				res := rec.kube(t, typeCronJob, cronJob.name)
				assert.Equal(t, strconv.FormatBool(cronJob.suspended), str(res.Inputs, "spec", "suspend"))
				pod := podOf(res)
				copier := get(pod, "initContainers", "0").ObjectValue()
				assert.Equal(t, pins.RcloneImage, str(copier, "image"), "rclone from its pinned image")
				main := get(pod, "containers", "0").ObjectValue()
				assert.Equal(t, pins.PostgresImages[postgres.MaxMajorVersion], str(main, "image"), "pg_dump of the newest major reads every older server")
				assert.Contains(t, str(main, "command", "2"), cronJob.script)
				assert.Equal(t, "/tools", mountPath(main, "tools"))
				assert.Equal(t, "writable: /tools", mountPath(copier, "tools"))
				env := envByName(main)
				prefix := "/" + namespace
				if tc.identity {
					prefix = "/prod-dumps"
				}
				folder := "store:acme-backstage-backups" + prefix + "/" + postgres.DumpsFolder
				assert.Equal(t, "https://s3.eu-west-1.amazonaws.com:443", env["RCLONE_CONFIG_STORE_ENDPOINT"])
				assert.Equal(t, "/tools", env["TOOLS"])
				assert.Equal(t, "true", env["RCLONE_CONFIG_STORE_NO_CHECK_BUCKET"], "the team's bucket: no right to create one is needed")
				assert.Equal(t, "secret:"+postgres.BackupCronJobName+"-credentials/password", env["PGPASSWORD"])
				if tc.identity {
					assert.Equal(t, postgres.BackupServiceAccountName, str(pod, "serviceAccountName"))
					assert.Equal(t, "true", env["RCLONE_CONFIG_STORE_ENV_AUTH"])
					assert.NotContains(t, env, "RCLONE_CONFIG_STORE_ACCESS_KEY_ID")
					assert.Equal(t, "sealed:", env["DUMPS"], "through the crypt remote")
					assert.Equal(t, folder, env["RCLONE_CONFIG_SEALED_REMOTE"])
					assert.Equal(t, "secret:backup-passphrase/passphrase", env["ENCRYPTION_PASSPHRASE"], "the team's key, from a Secret only")
					assert.Equal(t, strconv.Itoa(postgres.DefaultRetentionDays), env["RETENTION_DAYS"])
				} else {
					assert.Equal(t, folder, env["DUMPS"])
					assert.Equal(t, "true", env["RCLONE_CONFIG_STORE_FORCE_PATH_STYLE"])
					assert.Equal(t, "secret:backup-keys/AWS_ACCESS_KEY_ID", env["RCLONE_CONFIG_STORE_ACCESS_KEY_ID"])
					assert.Equal(t, "secret:backup-keys/AWS_SECRET_ACCESS_KEY", env["RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY"])
					assert.Equal(t, "/etc/pgbackrest/ca/ca.crt", env["RCLONE_CA_CERT"])
					assert.Equal(t, "/etc/pgbackrest/ca", mountPath(main, "object-store-ca"))
					assert.Equal(t, "30", env["RETENTION_DAYS"])
					assert.NotContains(t, env, "ENCRYPTION_PASSPHRASE")
				}
			}
			if tc.identity {
				sa := rec.kube(t, typeSA, postgres.BackupServiceAccountName)
				assert.Equal(t, "arn:aws:iam::1:role/b", str(sa.Inputs, "metadata", "annotations", "eks.amazonaws.com/role-arn"))
			} else {
				assert.Equal(t, objectStoreCA, str(rec.kube(t, typeConfigMap, postgres.ObjectStoreCAName).Inputs, "data", "ca.crt"))
			}
			egress := get(rec.kube(t, typeNetPol, "object-store-egress").Inputs, "spec", "egress", "0").ObjectValue()
			assert.Equal(t, "443", str(egress, "ports", "0", "port"))
		})
	}
}

// Each class of careless edit is refused before anything is registered, naming the key
// and the fix.
func TestObjectStoreRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, stack, store, key, want string
		edit                          func(stackConfig) stackConfig
	}{
		{name: "a bucket without credentials", store: `"credentialsSecret":""`, key: "backup", want: "has no credentials: name an existing Secret"},
		{name: "both kinds of credentials", store: `"credentialsSecret":"k","serviceAccountAnnotations":{"a":"b"}`, key: "backup", want: "has both credentialsSecret and serviceAccountAnnotations"},
		{name: "retention shorter than the weekly schedule", store: `"retentionDays":3`, edit: func(c stackConfig) stackConfig {
			return c.with("backup", strings.Replace(c.values["backstage:backup"], "{", `{"schedule":"0 3 * * 0",`, 1))
		}, key: "backup", want: "objectStore.retentionDays 3 is shorter than the 168h0m0s between two base backups"},
		{name: "the default retention under a monthly schedule", edit: func(c stackConfig) stackConfig {
			return c.with("backup", strings.Replace(c.values["backstage:backup"], "{", `{"schedule":"0 3 1 * *",`, 1))
		}, key: "backup", want: "keep at least 31 days"},
		{name: "a scheme in the endpoint", store: `"endpoint":"https://s3.example.com"`, key: "backup", want: "has a scheme"},
		{name: "a bucket that is no bucket name", store: `"bucket":"Backups_2026"`, key: "backup", want: "is not an S3 bucket name"},
		{name: "a prefix that ends with a slash", store: `"prefix":"/prod/"`, key: "backup", want: "must start with / and not end with one"},
		{name: "a port that is no port", store: `"endpoint":"s3.example.com:99999"`, key: "backup", want: "has no valid port"},
		{name: "an unknown uriStyle", store: `"uriStyle":"virtual"`, key: "backup", want: "neither host nor path"},
		{name: "a claim's size beside the bucket", edit: func(c stackConfig) stackConfig {
			return c.with("backup", strings.Replace(c.values["backstage:backup"], "{", `{"size":"8Gi",`, 1))
		}, key: "backup", want: "has both objectStore and size"},
		{name: "cidrs that are no CIDRs", store: `"cidrs":["s3.example.com"]`, key: "backup", want: "objectStore.cidrs"},
		{name: "restoring from its own folder", store: `"restoreFrom":"/backstage"`, key: "backup", want: "this stack's own prefix"},
		{name: "an unknown field", store: `"bukket":"x"`, key: "backup", want: "bukket"},
		{name: "the official image has no pgBackRest", edit: func(c stackConfig) stackConfig { return c.with("postgresImage", "postgres:14.19") },
			key: "postgresImage", want: pins.PgBackRestImage(14)},
		{name: "an external database starting from another stack's archive", stack: "prod", store: `"restoreFrom":"/backstage-old"`, edit: func(c stackConfig) stackConfig {
			ext := withExternalDatabase(t, "prod")
			ext.values["backstage:backup"] = c.values["backstage:backup"]
			return ext
		}, key: "backup", want: "make restore STACK=<stack> BACKUP=<run>"},
		{name: "a move to another major", edit: func(c stackConfig) stackConfig {
			return c.with("postgresMajorVersion", "15").with("postgresUpgrade", `{"from":14}`)
		}, key: "backup", want: "during a move to another major"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := tc.stack
			if stack == "" {
				stack = "dev"
			}
			cfg := withObjectStore(t, stack, tc.store)
			if tc.edit != nil {
				cfg = tc.edit(cfg)
			}
			rec, err := run(t, cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "backstage:"+tc.key+": ")
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, rec.Registrations(), "nothing registered")
		})
	}
}
