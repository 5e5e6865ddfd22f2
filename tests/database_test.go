package tests

import (
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
	for _, res := range rec.resources {
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
			assert.Empty(t, rec.resources, "nothing registered")
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
		`{"schedule":"every night"}`:                "not a five-field cron schedule",
		`{"retention":1000}`:                        "retention 1000 is not from 1 to 365",
		`{"size":"100Mi"}`:                          "below 1Gi",
		`{"existingClaim":"backups","size":"10Gi"}`: "both existingClaim and size",
		`{"existingClaim":"Not_A_Name"}`:            "not a valid claim name",
	} {
		rec, err := run(t, loadStack(t, "dev").with("backup", value))
		require.Error(t, err, value)
		assert.Contains(t, err.Error(), "backstage:backup: ")
		assert.Contains(t, err.Error(), want)
		assert.Empty(t, rec.resources)
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
	nginx := rec.byName(t, "security-ingress-nginx").Inputs
	assert.Equal(t, "Local", str(nginx, "values", "controller", "service", "externalTrafficPolicy"), "rate limits count clients, not nodes")

	withMetrics := mustRun(t, loadStack(t, "prod").with("metrics", `{"scraperNamespace":"monitoring"}`))
	controller = withMetrics.kube(t, typeNetPol, "ingress-nginx-controller").Inputs
	assert.Equal(t, "monitoring", str(controller, "spec", "ingress", "2", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	assert.Equal(t, "10254", str(controller, "spec", "ingress", "2", "ports", "0", "port"))
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
