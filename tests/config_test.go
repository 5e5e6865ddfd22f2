package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/config"
)

func TestBadConfigIsRefusedBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name, stack, key, value string
		wantErr                 []string
	}{
		{"invalid image reference", "kind", "image", "ghcr.io/Arhean/Backstage::1", []string{"backstage:image:", "not a valid image reference"}},
		{"missing image", "kind", "image", "<unset>", []string{"backstage:image: is required", "pulumi config set backstage:image"}},
		{"latest in prod", "prod", "image", "ghcr.io/arhean/backstage:latest", []string{"backstage:image:", "not pinned", "production"}},
		{"no tag in prod", "prod", "image", "ghcr.io/arhean/backstage", []string{"backstage:image:", "not pinned"}},
		{"untagged postgres in prod", "prod", "postgresImage", "postgres", []string{"backstage:postgresImage:", "not pinned"}},
		{"malformed quantity", "kind", "postgresStorageSize", "8GB", []string{"backstage:postgresStorageSize:", "8Gi (not 8GB)"}},
		{"tiny volume", "kind", "postgresStorageSize", "100Mi", []string{"backstage:postgresStorageSize:", "below 1Gi"}},
		{"zero replicas", "kind", "replicas", "0", []string{"backstage:replicas: is 0", "from 1 to 20"}},
		{"runaway replicas", "kind", "replicas", "500", []string{"backstage:replicas: is 500", "from 1 to 20"}},
		{"system namespace", "kind", "namespace", "kube-system", []string{"backstage:namespace:", "system namespace"}},
		{"default namespace", "kind", "namespace", "default", []string{"backstage:namespace:", "system namespace"}},
		{"host an IP", "kind", "host", "10.0.0.1", []string{"backstage:host:", "is an IP address"}},
		{"CIDR with host bits", "kind", "kubeApiServerCidrs", "172.18.0.1/16", []string{"backstage:kubeApiServerCidrs:", "host bits", "172.18.0.0/16"}},
		{"CIDR of everything", "kind", "kubeApiServerCidrs", "0.0.0.0/0", []string{"backstage:kubeApiServerCidrs:", "every address"}},
		{"shared buffers under the minimum", "kind", "postgresSharedBuffers", "64kB", []string{"backstage:postgresSharedBuffers:", "128kB"}},
		{"reserved role prefix", "kind", "postgresUser", "pg_backstage", []string{"backstage:postgresUser:", "pg_"}},
		{"volume unit slip", "kind", "postgresStorageSize", "8Ei", []string{"backstage:postgresStorageSize:", "above 16Ti"}},
		{"one replica in prod", "prod", "replicas", "1", []string{"backstage:replicas: is 1", "at least 2"}},
		{"replicas not a number", "kind", "replicas", "two", []string{"backstage:replicas:", "not a whole number"}},
		{"unknown issuer", "kind", "tls", "vault", []string{"backstage:tls:", "not a known issuer", "letsencrypt-prod"}},
		{"missing ACME email", "prod", "acmeEmail", "<unset>", []string{"backstage:acmeEmail:", "pulumi config set backstage:acmeEmail"}},
		{"host with scheme", "kind", "host", "https://backstage.example.com", []string{"backstage:host:", "bare DNS name"}},
		{"host not a DNS name", "kind", "host", "Backstage_Host", []string{"backstage:host:", "not a fully qualified DNS name"}},
		{"missing host", "kind", "host", "<unset>", []string{"backstage:host: is required"}},
		{"TLS off in prod", "prod", "tls", "none", []string{"backstage:tls: is none", "letsencrypt-prod"}},
		{"staging issuer in prod", "prod", "tls", "letsencrypt-staging", []string{"backstage:tls: is letsencrypt-staging", "do not trust"}},
		{"wide RBAC in prod without acknowledgement", "prod", "rbacClusterWideRead", "true", []string{"backstage:rbacClusterWideRead:", "rbacClusterWideReadAcknowledged true"}},
		{"unknown environment", "kind", "environment", "staging", []string{"backstage:environment:", "development or production"}},
		{"missing environment", "kind", "environment", "<unset>", []string{"backstage:environment: is required"}},
		{"chart version range", "kind", "ingressNginxChartVersion", "^4.15", []string{"backstage:ingressNginxChartVersion:", "exact version"}},
		{"shared buffers unit", "kind", "postgresSharedBuffers", "256mb", []string{"backstage:postgresSharedBuffers:", "256MB"}},
		{"max connections", "kind", "postgresMaxConnections", "5", []string{"backstage:postgresMaxConnections: is 5"}},
		{"superuser as app user", "kind", "postgresUser", "postgres", []string{"backstage:postgresUser:", "superuser"}},
		{"rollout cannot progress", "kind", "maxSurge", "0", []string{"backstage:maxSurge: is 0"}},
		{"capacity drop in prod", "prod", "maxUnavailable", "1", []string{"backstage:maxUnavailable: is 1", "production"}},
		{"health path relative", "kind", "healthCheckPath", "healthcheck", []string{"backstage:healthCheckPath:", "absolute path"}},
		{"bad API server CIDR", "kind", "kubeApiServerCidrs", "172.18.0.0", []string{"backstage:kubeApiServerCidrs:", "not a CIDR"}},
		{"not a boolean", "kind", "networkPolicies", "yes please", []string{"backstage:networkPolicies:", "true or false"}},
		{"CA issuer without the layer", "kind", "installSecurityLayer", "false", []string{"backstage:tls: is self-signed-ca", "installSecurityLayer"}},
		{"literal credential in app-config", "kind", "appConfig", `{"auth":{"providers":{"gitlab":{"development":{"clientId":"x","clientSecret":"hunter2"}}}}}`,
			[]string{"backstage:appConfig:", "auth.providers.gitlab.development.clientSecret", "${SOME_NAME}", "backstage:secretEnv.SOME_NAME"}},
		{"app-config not a map", "kind", "appConfig", `["a"]`, []string{"backstage:appConfig:", "not a map"}},
		{"env name with a dash", "kind", "env", `{"MY-VAR":"1"}`, []string{"backstage:env:", `"MY-VAR" is not an environment variable name`}},
		{"env shadows the database", "kind", "env", `{"POSTGRES_HOST":"elsewhere"}`, []string{"backstage:env: POSTGRES_HOST is set by the program"}},
		{"secret env in plaintext", "kind", "secretEnv", `{"GITLAB_TOKEN":"glpat-123"}`, []string{"backstage:secretEnv: is stored in plaintext", "--secret"}},
		{"pull policy", "kind", "imagePullPolicy", "Sometimes", []string{"backstage:imagePullPolicy:", "Always, IfNotPresent, Never"}},
		{"CA bundle not PEM", "kind", "caBundle", "not a certificate", []string{"backstage:caBundle:", "not a PEM bundle"}},
		{"key in the CA bundle", "kind", "caBundle", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", []string{"backstage:caBundle:", "never a key"}},
		{"request above limit", "kind", "resources", `{"requests":{"cpu":"2","memory":"512Mi"},"limits":{"cpu":"1","memory":"2Gi"}}`,
			[]string{"backstage:resources:", "requests.cpu 2 is above limits.cpu 1"}},
		{"memory not a quantity", "kind", "postgresResources", `{"requests":{"cpu":"250m","memory":"1GB"},"limits":{"cpu":"1","memory":"2GB"}}`,
			[]string{"backstage:postgresResources:", "not a Kubernetes quantity"}},
		{"shared buffers beyond /dev/shm", "kind", "postgresSharedBuffers", "768MB", []string{"backstage:postgresSharedBuffers:", "does not fit /dev/shm (512Mi", "backstage:postgresResources"}},
		{"toleration operator", "kind", "tolerations", `[{"key":"dedicated","operator":"Is","value":"x","effect":"NoSchedule"}]`, []string{"backstage:tolerations:", "not Equal or Exists"}},
		{"node selector key", "kind", "nodeSelector", `{"bad key!":"x"}`, []string{"backstage:nodeSelector:", "not a label key"}},
		{"metrics without scraper", "kind", "metrics", `{"port":9464}`, []string{"backstage:metrics:", "scraperNamespace"}},
		{"metrics on the app port", "kind", "metrics", `{"port":7007,"scraperNamespace":"monitoring"}`, []string{"backstage:metrics:", "port 7007"}},
		{"Recreate in prod", "prod", "rolloutStrategy", "Recreate", []string{"backstage:rolloutStrategy: is Recreate", "production"}},
		{"unknown strategy", "kind", "rolloutStrategy", "BlueGreen", []string{"backstage:rolloutStrategy:", "RollingUpdate, Recreate"}},
		{"image of another major", "prod", "postgresImage", "postgres:18.1", []string{"backstage:postgresImage:", "is PostgreSQL 18 but the major is 14", "copies the data"}},
		{"image without a major", "kind", "postgresImage", "postgres:latest", []string{"backstage:postgresImage:", "no tag that names its PostgreSQL major"}},
		{"major out of range", "kind", "postgresMajorVersion", "13", []string{"backstage:postgresMajorVersion: is 13"}},
		{"webhook open to every pod", "prod", "ingressAdmissionWebhook", "<unset>",
			[]string{"backstage:ingressWebhookSourceCidrs: is required while the ingress-nginx admission webhook runs behind NetworkPolicies", "CVE-2025-1974", "backstage:ingressAdmissionWebhook false"}},
		{"webhook sources without the webhook", "dev", "ingressWebhookSourceCidrs", `["10.0.0.0/28"]`, []string{"backstage:ingressWebhookSourceCidrs: is set but ingressAdmissionWebhook is false"}},
		// 3 pods at a rollout's peak x (8 plugins x 10 + 1 admin) + 3 reserved + 2 jobs.
		{"pool beyond the connection budget", "prod", "appConfig", `{"backend":{"database":{"knexConfig":{"pool":{"max":10}}}}}`,
			[]string{"backstage:appConfig: sets backend.database.knexConfig.pool.max to 10", "3 pods x 8 plugins", "need 248", "lower it to 3", "backstage:postgresMaxConnections to 248"}},
		// 13 pods x (8 x 2 + 1) + 5: not even pools of two fit 100.
		{"replicas beyond the connection budget", "kind", "replicas", "12",
			[]string{"backstage:postgresMaxConnections: is 100", "13 pods", "need 226 connections for pools of 2", "`backstage:postgresMaxConnections 226`"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertRefused(t, loadStack(t, tc.stack).with(tc.key, tc.value), tc.wantErr...)
		})
	}
}

// assertRefused runs the stack and expects its configuration refused, with every
// wanted phrase in the error, before any resource is registered.
func assertRefused(t *testing.T, cfg stackConfig, wantErr ...string) {
	t.Helper()
	rec, err := run(t, cfg)
	require.Error(t, err)
	for _, want := range wantErr {
		assert.Contains(t, err.Error(), want)
	}
	assert.Contains(t, err.Error(), "nothing was deployed")
	assert.Empty(t, rec.Registrations(), "no resource is registered when the configuration is invalid")
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	cfg := loadStack(t, "prod").with("image", "backstage:latest").with("replicas", "0").with("postgresStorageSize", "8GB")
	_, err := run(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 problems")
	for _, key := range []string{"backstage:image:", "backstage:replicas:", "backstage:postgresStorageSize:"} {
		assert.Contains(t, err.Error(), key)
	}
}

// PostgreSQL 14's support ended in November 2026: production says so at every run.
func TestProductionWarnsWhileRunningAnEndOfLifeMajor(t *testing.T) {
	eol := warningsAbout(loadConfig(t, loadStack(t, "prod")).Warnings, "backstage:postgresMajorVersion")
	require.Len(t, eol, 1)
	assert.Contains(t, eol[0], "backstage:postgresMajorVersion: PostgreSQL 14 reached its end of life on 2026-11-12")
	assert.Empty(t, warningsAbout(loadConfig(t, loadStack(t, "prod").with("postgresMajorVersion", "18").with("postgresImage", "<unset>")).Warnings,
		"backstage:postgresMajorVersion"), "a supported major warns nothing")
}

func TestDevelopmentAcceptsAnUnpinnedImageWithAWarning(t *testing.T) {
	loaded := loadConfig(t, loadStack(t, "dev").with("image", "ghcr.io/arhean/backstage"))
	require.Len(t, loaded.Warnings, 1)
	assert.Contains(t, loaded.Warnings[0], "backstage:image")
}

// Pulumi.yaml declares the defaults the CLI applies; config's own defaults apply where
// the program runs without them (mocks, a library user). They must be the same.
func TestPulumiYAMLDefaultsMatchTheProgramsDefaults(t *testing.T) {
	required := map[string]string{
		"backstage:environment": "production",
		"backstage:image":       "ghcr.io/arhean/backstage:1.0.0",
		"backstage:host":        "backstage.example.com",
		"backstage:acmeEmail":   "ops@example.com",
		// Required with the security layer: its edge, and (ingress-nginx's) where the
		// API server calls its webhook from.
		"backstage:edge":                      "ingress-nginx",
		"backstage:ingressWebhookSourceCidrs": `["10.0.0.0/28"]`,
	}
	var project struct {
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "Pulumi.yaml", &project)
	withoutYAML := stackConfig{name: "defaults", values: map[string]string{}, secrets: map[string]bool{}}
	onlyYAML := stackConfig{name: "defaults", values: map[string]string{}, secrets: map[string]bool{}}
	for key, decl := range project.Config {
		if decl.Default != nil {
			onlyYAML.values["backstage:"+key] = configString(t, decl.Default)
		}
	}
	for k, v := range required {
		withoutYAML.values[k] = v
		onlyYAML.values[k] = v
	}
	require.Greater(t, len(onlyYAML.values), 20, "Pulumi.yaml declares the keys with their defaults")
	assert.Equal(t, loadConfig(t, withoutYAML), loadConfig(t, onlyYAML))
}

// warningsAbout are the warnings that begin with the key.
func warningsAbout(warnings []string, key string) []string {
	var out []string
	for _, w := range warnings {
		if strings.HasPrefix(w, key) {
			out = append(out, w)
		}
	}
	return out
}

func loadConfig(t *testing.T, cfg stackConfig) *config.Stack {
	t.Helper()
	var loaded *config.Stack
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		var err error
		loaded, err = config.Load(ctx)
		return err
	}, pulumi.WithMocks("backstage", cfg.name, newRecorder()), withConfig(cfg))
	require.NoError(t, err)
	return loaded
}

func withConfig(cfg stackConfig) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = cfg.values
		for k := range cfg.secrets {
			info.ConfigSecretKeys = append(info.ConfigSecretKeys, k)
		}
	}
}
