package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The external database mode: a managed PostgreSQL over TLS, and no in-cluster one.

const externalHost = "backstage.abc123.eu-west-1.rds.amazonaws.com"

func withExternalDatabase(t *testing.T, stack string) stackConfig {
	return loadStack(t, stack).
		with("database", "external").
		with("databaseHost", externalHost).
		with("databasePort", "6432").
		with("databaseUser", "backstage").
		withSecret("databasePassword", "mock-rds-password").
		with("databaseCaBundle", testCertificatePEM(t)).
		with("databaseCidrs", `["10.20.0.0/24"]`)
}

func TestExternalDatabaseRegistersNoInClusterDatabase(t *testing.T) {
	rec := mustRun(t, withExternalDatabase(t, "prod"))
	assert.Empty(t, rec.ofType(typeStatefulSet), "no StatefulSet, so no claim")
	assert.Zero(t, countNamed(rec.ofType(typePassword), "postgres"), "no generated database password")
	assert.Empty(t, rec.ofType(typeJob))
	for _, res := range rec.Registrations() {
		assert.False(t, strings.HasPrefix(res.Name, "postgres"), "%s belongs to the in-cluster database", res.Name)
	}

	env := rec.kube(t, typeConfigMap, "backstage-env-config").Inputs
	assert.Equal(t, externalHost, str(env, "data", "POSTGRES_HOST"))
	assert.Equal(t, "6432", str(env, "data", "POSTGRES_PORT"))
	assert.Equal(t, "verify-full", str(env, "data", "PGSSLMODE"), "for libpq's tools")
	secret := rec.kube(t, typeSecret, "backstage-secrets").Inputs
	assert.Equal(t, "mock-rds-password", str(secret, "stringData", "POSTGRES_PASSWORD"))
	assert.True(t, isSecretAt(secret, "stringData", "POSTGRES_PASSWORD"))

	// node-postgres reads TLS only from app-config: the database file, loaded last.
	appConfig := rec.kube(t, typeConfigMap, "backstage-app-config").Inputs
	var database struct {
		Backend struct {
			Database struct {
				Connection struct {
					SSL struct {
						RejectUnauthorized bool   `yaml:"rejectUnauthorized"`
						CA                 string `yaml:"ca"`
					} `yaml:"ssl"`
				} `yaml:"connection"`
			} `yaml:"database"`
		} `yaml:"backend"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(str(appConfig, "data", "app-config.database.yaml")), &database))
	ssl := database.Backend.Database.Connection.SSL
	assert.True(t, ssl.RejectUnauthorized)
	assert.Contains(t, ssl.CA, "BEGIN CERTIFICATE")
	args := plain(get(rec.kube(t, typeDeployment, "backstage").Inputs, "spec", "template", "spec", "containers", "0", "args")).([]any)
	assert.Equal(t, "/app/config-extra/app-config.database.yaml", args[len(args)-1], "the database's TLS is loaded last")

	// Egress to exactly the database's addresses and port; no policy for absent pods.
	egress := rec.kube(t, typeNetPol, "backstage-egress").Inputs
	assert.Equal(t, "10.20.0.0/24", str(egress, "spec", "egress", "0", "to", "0", "ipBlock", "cidr"))
	assert.Equal(t, "6432", str(egress, "spec", "egress", "0", "ports", "0", "port"))
	assert.Empty(t, rec.ofTypeNamed(typeNetPol, "network-postgres-ingress"))
}

func TestRequireModeEncryptsWithoutCheckingTheCertificate(t *testing.T) {
	rec := mustRun(t, withExternalDatabase(t, "dev").with("databaseSslMode", "require"))
	file := str(rec.kube(t, typeConfigMap, "backstage-app-config").Inputs, "data", "app-config.database.yaml")
	assert.Contains(t, file, "rejectUnauthorized: false")
}

func TestExternalDatabaseRefusals(t *testing.T) {
	cases := []struct {
		name    string
		cfg     stackConfig
		wantErr []string
	}{
		{"no host", withExternalDatabase(t, "dev").with("databaseHost", "<unset>"), []string{"backstage:databaseHost: is required with database: external"}},
		{"no user", withExternalDatabase(t, "dev").with("databaseUser", "<unset>"), []string{"backstage:databaseUser: is required"}},
		{"no password", withExternalDatabase(t, "dev").with("databasePassword", "<unset>"), []string{"backstage:databasePassword: is required", "--secret"}},
		{"password in plaintext", withExternalDatabase(t, "dev").with("databasePassword", "<unset>").with("databasePassword", "hunter2"), []string{"backstage:databasePassword: is stored in plaintext"}},
		{"no CIDRs with policies", withExternalDatabase(t, "dev").with("databaseCidrs", "<unset>"), []string{"backstage:databaseCidrs: is required", "egress"}},
		{"weak TLS in prod", withExternalDatabase(t, "prod").with("databaseSslMode", "require"), []string{"backstage:databaseSslMode: is require", "databaseSslModeAcknowledged"}},
		{"unknown mode", withExternalDatabase(t, "dev").with("databaseSslMode", "disable"), []string{"backstage:databaseSslMode:", "require, verify-ca, verify-full"}},
		{"host not a name", withExternalDatabase(t, "dev").with("databaseHost", "db host"), []string{"backstage:databaseHost:", "neither a DNS name nor an IP address"}},
		{"superuser name", withExternalDatabase(t, "dev").with("databaseUser", "postgres"), []string{"backstage:databaseUser:", "superuser"}},
		{"host without external", loadStack(t, "dev").with("databaseHost", externalHost), []string{"backstage:databaseHost: is set but database is in-cluster"}},
		{"unknown database mode", loadStack(t, "dev").with("database", "rds"), []string{"backstage:database:", "in-cluster, external"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := run(t, tc.cfg)
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Empty(t, rec.Registrations(), "nothing registered")
		})
	}
	// Acknowledged, production accepts verify-ca.
	mustRun(t, withExternalDatabase(t, "prod").with("databaseSslMode", "verify-ca").with("databaseSslModeAcknowledged", "true"))
}

func countNamed(list []registered, prefix string) int {
	n := 0
	for _, r := range list {
		if strings.HasPrefix(r.Name, prefix) {
			n++
		}
	}
	return n
}

func TestBackupsCronJobsAndClaim(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, stack))
			backup := rec.kube(t, typeCronJob, "backstage-backup")
			spec := get(backup.Inputs, "spec").ObjectValue()
			assert.Equal(t, "Forbid", str(spec, "concurrencyPolicy"), "one backup at a time")
			assert.Equal(t, "3", str(spec, "successfulJobsHistoryLimit"))
			assert.Equal(t, "3", str(spec, "failedJobsHistoryLimit"))
			assert.Equal(t, "false", str(spec, "suspend"))
			pod := get(spec, "jobTemplate", "spec", "template").ObjectValue()
			assert.Equal(t, "database-client", str(pod, "metadata", "labels", "component"), "the policies let it reach the database only")
			c := get(pod, "spec", "containers", "0").ObjectValue()
			assert.Equal(t, postgresImageOf(t, stack), str(c, "image"), "pg_dump of the server's major")
			env := envByName(c)
			assert.Equal(t, "secret:backstage-backup-credentials/password", env["PGPASSWORD"])
			assert.Equal(t, "backstage", env["PGUSER"], "the app role, which owns the plugin databases")
			assert.Equal(t, "/backups", env["BACKUP_DIR"])

			restore := rec.kube(t, typeCronJob, "backstage-restore")
			assert.Equal(t, "true", str(restore.Inputs, "spec", "suspend"), "restores run only by hand")
			claim := rec.kube(t, "kubernetes:core/v1:PersistentVolumeClaim", "backstage-backups")
			assert.True(t, claim.RetainOnDelete, "the backups outlive the stack")
			credentials := rec.kube(t, typeSecret, "backstage-backup-credentials")
			assert.True(t, isSecretAt(credentials.Inputs, "stringData", "password"))
		})
	}
}

func TestBackupsOfAnExternalDatabaseUseTLS(t *testing.T) {
	rec := mustRun(t, withExternalDatabase(t, "prod"))
	c := get(rec.kube(t, typeCronJob, "backstage-backup").Inputs, "spec", "jobTemplate", "spec", "template", "spec", "containers", "0").ObjectValue()
	env := envByName(c)
	assert.Equal(t, externalHost, env["PGHOST"])
	assert.Equal(t, "verify-full", env["PGSSLMODE"])
	assert.Equal(t, "/etc/backstage/database-ca/ca.crt", env["PGSSLROOTCERT"])
	assert.Equal(t, "/etc/backstage/database-ca", mountPath(c, "database-ca"))
	assert.Contains(t, str(c, "image"), ":18.", "the newest pg_dump reads every older server")
}

func TestBackupRefusals(t *testing.T) {
	for value, want := range map[string]string{
		`{"schedule":"every night"}`:                        "not a five-field cron schedule",
		`{"retention":1000}`:                                "retention is 1000; use a value from 1 to 365",
		`{"size":"100Mi"}`:                                  "below 1Gi",
		`{"existingClaim":"backups","size":"10Gi"}`:         "both existingClaim and size",
		`{"existingClaim":"backups","storageClass":"fast"}`: "has both existingClaim and storageClass; an existing claim has its own storageClass, so storageClass does nothing: remove it",
		`{"existingClaim":"Not_A_Name"}`:                    "not a valid claim name",
	} {
		rec, err := run(t, loadStack(t, "dev").with("backup", value))
		require.Error(t, err, value)
		assert.Contains(t, err.Error(), "backstage:backup: ")
		assert.Contains(t, err.Error(), want)
		assert.Empty(t, rec.Registrations())
	}
}

// The edge and the database's fence, as cert-manager's and ingress-nginx's documents
// require them.
func TestEdgePoliciesLetCertificatesIssueAndKeepTheDatabaseFenced(t *testing.T) {
	rec := mustRun(t, loadStack(t, "prod"))
	solver := rec.kube(t, typeNetPol, "acme-solver-ingress").Inputs
	assert.Equal(t, "true", str(solver, "spec", "podSelector", "matchLabels", "acme.cert-manager.io/http01-solver"))
	assert.Equal(t, "ingress-nginx", str(solver, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	assert.Equal(t, "8089", str(solver, "spec", "ingress", "0", "ports", "0", "port"))

	for _, name := range []string{"default-deny", "postgres-ingress"} {
		assert.True(t, rec.kube(t, typeNetPol, name).RetainOnDelete, "%s outlives a destroy, as the database does", name)
	}
	assert.False(t, rec.kube(t, typeNetPol, "backstage-ingress").RetainOnDelete)

	controller := rec.kube(t, typeNetPol, "ingress-nginx-controller").Inputs
	assert.NotContains(t, str(controller, "spec"), "10254", "the controller's metrics port is closed without a scraper")
	assert.NotContains(t, str(controller, "spec"), "8443", "the webhook is off and its port closed")
	assert.Equal(t, "false", str(rec.byName(t, "security-ingress-nginx").Inputs, "values", "controller", "admissionWebhooks", "enabled"))
	require.Len(t, get(controller, "spec", "ingress").ArrayValue(), 1, "clients' ports only")
	nginx := rec.byName(t, "security-ingress-nginx").Inputs
	assert.Equal(t, "Local", str(nginx, "values", "controller", "service", "externalTrafficPolicy"), "rate limits count clients, not nodes")

	withSources := mustRun(t, loadStack(t, "prod").with("ingressAdmissionWebhook", "true").with("ingressWebhookSourceCidrs", `["10.0.0.0/28"]`))
	controller = withSources.kube(t, typeNetPol, "ingress-nginx-controller").Inputs
	assert.Equal(t, "10.0.0.0/28", str(controller, "spec", "ingress", "1", "from", "0", "ipBlock", "cidr"))
	assert.Equal(t, "8443", str(controller, "spec", "ingress", "1", "ports", "0", "port"))
	assert.Equal(t, "true", str(withSources.byName(t, "security-ingress-nginx").Inputs, "values", "controller", "admissionWebhooks", "enabled"))

	withMetrics := mustRun(t, loadStack(t, "prod").with("metrics", `{"scraperNamespace":"monitoring"}`))
	controller = withMetrics.kube(t, typeNetPol, "ingress-nginx-controller").Inputs
	assert.Equal(t, "monitoring", str(controller, "spec", "ingress", "1", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	assert.Equal(t, "10254", str(controller, "spec", "ingress", "1", "ports", "0", "port"))
}

// Each plugin's pool is sized so that every pod at a rollout's peak fits
// max_connections, unless the stack's app-config sizes it itself.
func TestThePoolFitsTheConnectionBudget(t *testing.T) {
	poolMax := func(rec *recorder) (int, bool) {
		var file struct {
			Backend struct {
				Database struct {
					KnexConfig *struct {
						Pool struct {
							Max int `yaml:"max"`
						} `yaml:"pool"`
					} `yaml:"knexConfig"`
				} `yaml:"database"`
			} `yaml:"backend"`
		}
		data := str(rec.kube(t, typeConfigMap, "backstage-app-config").Inputs, "data", "app-config.database.yaml")
		require.NoError(t, yaml.Unmarshal([]byte(data), &file))
		if file.Backend.Database.KnexConfig == nil {
			return 0, false
		}
		return file.Backend.Database.KnexConfig.Pool.Max, true
	}

	// prod: 2 replicas + 1 surge pod, 8 plugins, max_connections 100.
	pool, set := poolMax(mustRun(t, loadStack(t, "prod")))
	require.True(t, set)
	assert.Equal(t, 3, pool)
	pool, _ = poolMax(mustRun(t, loadStack(t, "prod").with("postgresMaxConnections", "300")))
	assert.Equal(t, 10, pool, "never above Knex's default")
	pool, _ = poolMax(mustRun(t, loadStack(t, "prod").with("databasePlugins", "4")))
	assert.Equal(t, 7, pool, "(100 - 3 - 5) / 12")

	_, set = poolMax(mustRun(t, loadStack(t, "prod").with("appConfig", `{"backend":{"database":{"knexConfig":{"pool":{"max":2}}}}}`)))
	assert.False(t, set, "the stack's own pool size is not overridden")
	_, set = poolMax(mustRun(t, withExternalDatabase(t, "prod")))
	assert.False(t, set, "an external server's limit is unknown here: Backstage's default stays")
}

// upgrading is prod (PostgreSQL 14) moving to 18: the copy running, or done.
func upgrading(t *testing.T, done bool) stackConfig {
	return loadStack(t, "prod").
		with("postgresMajorVersion", "18").
		with("postgresImage", "postgres:18.1").
		with("postgresUpgrade", fmt.Sprintf(`{"from":14,"done":%t}`, done))
}

// While the copy runs, the old server keeps its data directory and major, a new server
// of the new major starts beside it, Backstage is stopped and points at the new one,
// and the Job copies between them.
func TestMajorUpgradeCopiesIntoANewServerBesideTheOldOne(t *testing.T) {
	rec := mustRun(t, upgrading(t, false))

	old := rec.kube(t, typeStatefulSet, "psql-postgresql")
	assert.Equal(t, "postgres:14.19", str(old.Inputs, "spec", "template", "spec", "containers", "0", "image"), "the old server keeps its major")
	assert.Equal(t, "postgres-statefulset", old.Name, "the same resource: no replacement")
	assert.NotContains(t, plain(get(old.Inputs, "spec", "selector", "matchLabels")), "server", "its selector cannot change")
	fresh := rec.kube(t, typeStatefulSet, "psql-postgresql-18")
	assert.Equal(t, "postgres:18.1", str(fresh.Inputs, "spec", "template", "spec", "containers", "0", "image"))
	assert.Equal(t, "psql-postgresql-18", str(fresh.Inputs, "spec", "selector", "matchLabels", "server"), "only its own pod")
	assert.Equal(t, "psql-postgresql-18", str(fresh.Inputs, "spec", "serviceName"))
	assert.Equal(t, "psql-postgresql-18", str(rec.kube(t, typeService, "psql-postgresql-18").Inputs, "spec", "selector", "server"))
	assert.False(t, old.Protect, "the old server may leave the stack once the copy is done")
	assert.False(t, fresh.Protect, "the new one holds only a copy until then: a rollback may let it go")
	assert.True(t, old.RetainOnDelete && fresh.RetainOnDelete, "leaving the stack never deletes a server")
	assert.Len(t, rec.ofType(typePDB), 2, "Backstage's and the new server's: one budget per pod")
	rec.kube(t, typePDB, "psql-postgresql-18")

	assert.Equal(t, "0", str(rec.kube(t, typeDeployment, "backstage").Inputs, "spec", "replicas"), "nothing writes during the copy")
	assert.Equal(t, "psql-postgresql-18.backstage.svc.cluster.local",
		str(rec.kube(t, typeConfigMap, "backstage-env-config").Inputs, "data", "POSTGRES_HOST"))

	copyJob := rec.kube(t, typeJob, "psql-postgresql-upgrade-14-to-18")
	assert.Equal(t, "postgres:18.1", str(copyJob.Inputs, "spec", "template", "spec", "containers", "0", "image"), "the newer pg_dumpall reads the older server")
	env := envByName(get(copyJob.Inputs, "spec", "template", "spec", "containers", "0").ObjectValue())
	assert.Equal(t, "psql-postgresql-0.psql-postgresql.backstage.svc.cluster.local", env["FROM_HOST"], "the old pod itself: the new pod matches the old Service's selector too")
	assert.Equal(t, "psql-postgresql-18.backstage.svc.cluster.local", env["TO_HOST"])
	assert.Equal(t, "secret:psql-postgresql-bootstrap/password", env["BOOTSTRAP_PASSWORD"])
	assert.Equal(t, []string{"spec"}, copyJob.IgnoreChanges)
	assert.True(t, dependsOn(copyJob, "backstage-deployment"), "after Backstage is stopped")
	assert.True(t, dependsOn(copyJob, "postgres-statefulset") && dependsOn(copyJob, "postgres-18-statefulset"), "after both servers are ready")
	rec.kube(t, typeJob, "psql-postgresql-least-privilege")

	warnings := strings.Join(loadConfig(t, upgrading(t, false)).Warnings, "\n")
	assert.Contains(t, warnings, "Job psql-postgresql-upgrade-14-to-18 copies the data from PostgreSQL 14 into psql-postgresql-18")
	assert.Contains(t, warnings, "backstage:postgresUpgrade.done true")
}

// Once the copy is checked, Backstage runs on the new server, and the old one is no
// longer the program's: it is retained, not deleted (RetainOnDelete, checked in e2e).
func TestMajorUpgradeDoneRunsBackstageOnTheNewServer(t *testing.T) {
	rec := mustRun(t, upgrading(t, true))
	require.Len(t, rec.ofType(typeStatefulSet), 1)
	fresh := rec.kube(t, typeStatefulSet, "psql-postgresql-18")
	assert.Equal(t, "postgres-18-statefulset", fresh.Name, "the same resource as during the copy")
	assert.True(t, fresh.Protect, "the stack's data now")
	assert.Empty(t, rec.ofType(typeJob), "no copy, and no least-privilege Job: the new server was initialised with the init script")
	assert.Equal(t, "2", str(rec.kube(t, typeDeployment, "backstage").Inputs, "spec", "replicas"))
	assert.Equal(t, "psql-postgresql-18.backstage.svc.cluster.local",
		str(rec.kube(t, typeConfigMap, "backstage-env-config").Inputs, "data", "POSTGRES_HOST"))
	warnings := loadConfig(t, upgrading(t, true)).Warnings
	assert.Empty(t, append(warningsAbout(warnings, "backstage:postgresMajorVersion"), warningsAbout(warnings, "backstage:postgresUpgrade")...),
		"18 is supported, and the copy is over")
}

func TestMajorUpgradeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     stackConfig
		wantErr []string
	}{
		{"downwards", loadStack(t, "prod").with("postgresUpgrade", `{"from":18}`), []string{"backstage:postgresUpgrade: from is 18, but the new major is 14"}},
		{"the same major", loadStack(t, "prod").with("postgresUpgrade", `{"from":14}`), []string{"backstage:postgresUpgrade: from is 14, but the new major is 14", "set backstage:postgresMajorVersion to the new major"}},
		{"without from", upgrading(t, false).with("postgresUpgrade", `{"done":false}`), []string{"backstage:postgresUpgrade:", "has no from"}},
		{"a managed database", withExternalDatabase(t, "prod").with("postgresUpgrade", `{"from":14}`), []string{"backstage:postgresUpgrade: is set but database is external"}},
		{"from the new server itself", upgrading(t, false).with("postgresUpgrade", `{"from":14,"fromServer":"psql-postgresql-18"}`), []string{"fromServer \"psql-postgresql-18\" is the new server's own name"}},
	} {
		t.Run(tc.name, func(t *testing.T) { assertRefused(t, tc.cfg, tc.wantErr...) })
	}
}
