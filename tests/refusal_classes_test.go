package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A refusal class (#25): several members of it, each refused before anything is
// registered, naming its key and the fix.
type refusal struct{ stack, key, value, want string }

func assertRefusedByClass(t *testing.T, class string, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		rec, err := run(t, loadStack(t, c.stack).with(c.key, c.value))
		require.Error(t, err, "%s: %s %s", class, c.key, c.value)
		assert.Contains(t, err.Error(), "backstage:"+c.key+": ", "%s: %s %s names its key", class, c.key, c.value)
		assert.Contains(t, err.Error(), c.want, "%s: %s %s", class, c.key, c.value)
		assert.Empty(t, rec.Registrations(), "nothing is registered")
	}
}

// Production images that can move: latest, a branch or channel, a major alone; in
// every image key, the sidecars' and init containers' included. A release (major.minor
// at least) or a digest passes; outside production a moving tag is only warned about.
func TestProductionRefusesImagesThatCanMove(t *testing.T) {
	const fix = "production needs a tag that names a release"
	assertRefusedByClass(t, "moving images", []refusal{
		{"prod", "image", "ghcr.io/arhean/backstage:1", fix},
		{"prod", "image", "ghcr.io/arhean/backstage:v2", fix},
		{"prod", "image", "ghcr.io/arhean/backstage:main", fix},
		{"prod", "image", "ghcr.io/arhean/backstage:stable", fix},
		{"prod", "postgresImage", "postgres:18", fix},
		{"prod", "postgresImage", "postgres:bookworm", fix},
		{"prod", "initImage", "busybox:musl", fix},
		{"prod", "sidecars", `[{"name":"agent","image":"hashicorp/vault:1"}]`, "container agent: "},
		{"prod", "initContainers", `[{"name":"setup","image":"registry.example/setup:edge"}]`, "container setup: "},
	})
	for _, pinned := range []string{
		"ghcr.io/arhean/backstage:1.4", "ghcr.io/arhean/backstage:1.4.2", "ghcr.io/arhean/backstage:v1.4.2-rc.1",
		"ghcr.io/arhean/backstage@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		mustRun(t, loadStack(t, "prod").with("image", pinned))
	}
	assert.NotEmpty(t, warningsAbout(loadConfig(t, loadStack(t, "dev").with("image", "ghcr.io/arhean/backstage:main")).Warnings, "backstage:image"))
}

// Address sets that cover everything or name what no peer should: a union of CIDRs
// that is the whole space, the cloud metadata address, loopback; and a database host
// outside its own databaseCidrs.
func TestAddressSetsThatCoverTooMuchAreRefused(t *testing.T) {
	assertRefusedByClass(t, "address sets", []refusal{
		{"kind", "kubeApiServerCidrs", `["0.0.0.0/1","128.0.0.0/1"]`, "covers the whole address space"},
		{"kind", "kubeApiServerCidrs", `["127.0.0.0/8"]`, "includes loopback"},
		{"kind", "ingressWebhookSourceCidrs", `["169.254.0.0/16"]`, "the cloud metadata service"},
		{"kind", "ingressWebhookSourceCidrs", `["::/1","8000::/1"]`, "covers the whole address space"},
	})
	external := withExternalDatabase(t, "prod")
	for _, c := range []struct{ key, value, want string }{
		{"databaseCidrs", `["0.0.0.0/1","128.0.0.0/1"]`, "covers the whole address space"},
		{"databaseCidrs", `["169.254.169.0/24"]`, "the cloud metadata service"},
		{"databaseCidrs", `["::1/128"]`, "includes loopback"},
	} {
		_, err := run(t, external.with(c.key, c.value))
		require.Error(t, err, c.value)
		assert.Contains(t, err.Error(), "backstage:"+c.key+": ", c.value)
		assert.Contains(t, err.Error(), c.want, c.value)
	}
	_, err := run(t, external.with("databaseHost", "10.30.0.5"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:databaseCidrs: does not contain 10.30.0.5, the address of backstage:databaseHost")
	mustRun(t, external.with("databaseHost", "10.20.0.5"))
}

// Names no certificate or resolver can serve: a DNS label over 63 characters
// anywhere; a special-use suffix in production; a name under no public suffix with a
// Let's Encrypt issuer.
func TestHostNamesNoOneCanServeAreRefused(t *testing.T) {
	long := "a23456789012345678901234567890123456789012345678901234567890abcd"
	assertRefusedByClass(t, "host names", []refusal{
		{"dev", "host", long + ".example.com", "which DNS cannot hold"},
		{"prod", "host", "backstage.local", "is under .local, a special-use name"},
		{"prod", "host", "backstage.test", "is under .test, a special-use name"},
		{"prod", "host", "portal.localhost", "is under .localhost"},
		{"prod", "host", "backstage.corp", "is under .corp, which is no public suffix, so Let's Encrypt"},
		{"prod", "host", "backstage.acme.internal", "is under .internal, which is no public suffix"},
		{"prod", "host", "backstage.home.arpa", "is under .home.arpa"},
	})
	assertRefusedByClass(t, "host names", []refusal{{"dev", "host", "backstage.acme.internal", "is under .internal, which is no public suffix"}})
	mustRun(t, loadStack(t, "dev").with("host", "backstage.acme.internal").with("tls", "none").with("acmeEmail", ""))
	mustRun(t, loadStack(t, "dev").with("host", "backstage.local").with("tls", "none").with("acmeEmail", ""))
}

// Keys that do nothing in the stack's mode are refused, naming the mode and the key
// that would use them: the external database's keys beside the in-cluster one, the
// Let's Encrypt address without a Let's Encrypt issuer, the security layer's chart
// versions without the layer.
func TestKeysThatDoNothingInTheStacksModeAreRefused(t *testing.T) {
	assertRefusedByClass(t, "inert keys", []refusal{
		{"dev", "databasePort", "6432", "is set, but backstage:database is in-cluster, so it does nothing"},
		{"dev", "databaseUser", "backstage", "is set, but backstage:database is in-cluster"},
		{"dev", "databaseSslMode", "require", "is set, but backstage:database is in-cluster"},
		{"dev", "databaseCidrs", `["10.20.0.0/24"]`, "is set, but backstage:database is in-cluster"},
		{"dev", "databaseSslModeAcknowledged", "true", "is set, but backstage:database is in-cluster"},
		{"local", "acmeEmail", "ops@example.com", "is set, but backstage:tls is none, so it does nothing"},
		{"local", "certManagerChartVersion", "v1.20.0", "is set, but backstage:installSecurityLayer is false"},
	})
	mustRun(t, withExternalDatabase(t, "prod"))
}

// A key under backstage: that the program does not have is refused with the closest
// known name, however it is misspelt; other providers' namespaces are theirs.
func TestUnknownKeysAreRefused(t *testing.T) {
	for misspelt, closest := range map[string]string{
		"kubeAPIServerCIDRs": "kubeApiServerCidrs",
		"replica":            "replicas",
		"postgresStorage":    "postgresStorageSize",
		"sidecar":            "sidecars",
		"egressRule":         "egressRules",
		"imagePullSecret":    "imagePullSecrets",
	} {
		rec, err := run(t, loadStack(t, "dev").with(misspelt, "x"))
		require.Error(t, err, misspelt)
		assert.Contains(t, err.Error(), "backstage:"+misspelt+": is not a setting of this program (it would be ignored); did you mean backstage:"+closest+"?")
		assert.Empty(t, rec.Registrations(), "nothing is registered")
	}
	// Every problem at once: two unknown keys and a bad known one.
	_, err := run(t, loadStack(t, "dev").with("replica", "3").with("nodeSelectors", "x").with("replicas", "0"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(3 problems)")

	cfg := loadStack(t, "dev")
	cfg.set("kubernetes:context", "kind-backstage", false)
	mustRun(t, cfg)
}

// App-config may not set what the program derives from its own keys: the base URLs,
// the listen port, the database's client and connection.
func TestAppConfigThatOverridesTheProgramsWiringIsRefused(t *testing.T) {
	const fix = "which the program derives from"
	assertRefusedByClass(t, "owned app-config", []refusal{
		{"dev", "appConfig", `{"app":{"baseUrl":"https://other.example.com"}}`, "sets app.baseUrl, " + fix + " backstage:host"},
		{"dev", "appConfig", `{"backend":{"baseUrl":"https://other.example.com"}}`, "sets backend.baseUrl, " + fix},
		{"dev", "appConfig", `{"backend":{"listen":{"port":8080}}}`, "sets backend.listen, " + fix + " its port 7007"},
		{"dev", "appConfig", `{"backend":{"database":{"client":"better-sqlite3"}}}`, "sets backend.database.client, " + fix},
		{"dev", "appConfig", `{"backend":{"database":{"connection":{"host":"evil.example.com"}}}}`, "sets backend.database.connection, " + fix},
		{"dev", "appConfig", `{"backend":{"database":{"connection":"postgres://u:p@elsewhere/db"}}}`, "sets backend.database.connection, " + fix},
	})
	mustRun(t, loadStack(t, "dev").with("appConfig", `{"backend":{"database":{"knexConfig":{"pool":{"max":4}}}},"app":{"title":"Portal"}}`))
}

// Settings that turn security off are refused in production and warned about
// elsewhere: app-config Backstage marks dangerous, CORS for any origin with
// credentials, URL reading from any host, environment that changes how Node.js checks
// TLS or loads code, tolerations that let the pods land anywhere, the system priority
// classes (everywhere), NetworkPolicies off.
func TestSettingsThatTurnSecurityOffAreRefusedInProduction(t *testing.T) {
	assertRefusedByClass(t, "security off", []refusal{
		{"prod", "appConfig", `{"backend":{"auth":{"dangerouslyDisableDefaultAuthPolicy":true}}}`, "which Backstage marks as dangerous"},
		{"prod", "appConfig", `{"auth":{"providers":{"github":{"production":{"signIn":{"resolvers":[{"resolver":"emailMatchingUserEntityProfileEmail","dangerouslyAllowSignInWithoutUserInCatalog":true}]}}}}}}`, "dangerouslyAllowSignInWithoutUserInCatalog"},
		{"prod", "appConfig", `{"backend":{"cors":{"origin":"*","credentials":true}}}`, "lets any site call Backstage"},
		{"prod", "appConfig", `{"backend":{"reading":{"allow":[{"host":"*"}]}}}`, "lets the catalog fetch any address"},
		{"prod", "env", `{"NODE_TLS_REJECT_UNAUTHORIZED":"0"}`, "changes how Node.js checks TLS"},
		{"prod", "env", `{"LD_PRELOAD":"/tmp/x.so"}`, "where code is loaded from"},
		{"prod", "tolerations", `[{"operator":"Exists"}]`, "tolerates every taint"},
		{"prod", "tolerations", `[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"}]`, "beside the API server"},
		{"prod", "networkPolicies", "false", "production keeps them on"},
		{"dev", "priorityClassName", "system-cluster-critical", "the cluster's own components' priority"},
	})
	for key, value := range map[string]string{
		"appConfig":   `{"backend":{"auth":{"dangerouslyDisableDefaultAuthPolicy":true}}}`,
		"env":         `{"NODE_TLS_REJECT_UNAUTHORIZED":"0"}`,
		"tolerations": `[{"operator":"Exists"}]`,
	} {
		_, err := run(t, loadStack(t, "dev").with(key, value))
		if key == "tolerations" {
			require.NoError(t, err, "outside production a toleration of everything is the team's choice")
			continue
		}
		require.NoError(t, err, key)
		assert.NotEmpty(t, warningsAbout(loadConfig(t, loadStack(t, "dev").with(key, value)).Warnings, "backstage:"+key), "outside production a warning: %s", key)
	}
}

// Credentials in plaintext are recognised by the names they go by and by the shapes of
// well-known tokens, as strings or numbers, in app-config and in plain env, and sent
// to secretEnv; names that only point at a credential, and ${NAME} substitutions, pass.
func TestPlaintextCredentialsAreRecognisedByNameAndShape(t *testing.T) {
	const toSecretEnv = "holds a literal credential, which would sit in a ConfigMap"
	assertRefusedByClass(t, "plaintext credentials", []refusal{
		{"dev", "appConfig", `{"integrations":{"gitlab":[{"host":"gitlab.com","apiKey":"abc123"}]}}`, "integrations.gitlab[0].apiKey " + toSecretEnv},
		{"dev", "appConfig", `{"techdocs":{"publisher":{"awsS3":{"credentials":{"secretAccessKey":"wJalrXUtnFEMI"}}}}}`, "secretAccessKey " + toSecretEnv},
		{"dev", "appConfig", `{"integrations":{"bitbucketCloud":[{"username":"bot","appPassword":"x1y2z3"}]}}`, "appPassword " + toSecretEnv},
		{"dev", "appConfig", `{"proxy":{"endpoints":{"/jenkins":{"target":"https://ci","headers":{"Authorization":"Basic dXNlcjpwYXNzd29yZDEyMzQ1Njc4"}}}}}`, "headers.Authorization " + toSecretEnv},
		{"dev", "appConfig", `{"catalog":{"providers":{"x":{"webhookSecret":12345678}}}}`, "webhookSecret " + toSecretEnv},
		{"dev", "appConfig", `{"app":{"support":{"note":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}}`, "app.support.note " + toSecretEnv},
		{"dev", "appConfig", `{"x":{"awsKey":"AKIAIOSFODNN7EXAMPLE"}}`, "x.awsKey " + toSecretEnv},
		{"dev", "env", `{"JIRA_API_TOKEN":"abc"}`, "JIRA_API_TOKEN looks like a credential"},
		{"dev", "env", `{"SLACK_URL_PART":"xoxb-1234567890-abcdefghij"}`, "SLACK_URL_PART looks like a credential"},
		{"dev", "env", `{"DB_PASSWD":"hunter2"}`, "DB_PASSWD looks like a credential"},
	})
	mustRun(t, loadStack(t, "dev").
		with("appConfig", `{"auth":{"providers":{"gitlab":{"development":{"clientSecret":"${GITLAB_SECRET}","tokenUrl":"https://gitlab.example.com/oauth/token"}}}},"kubernetes":{"clusterLocatorMethods":[{"type":"config","clusters":[{"serviceAccountTokenFile":"/var/run/secrets/token","name":"c"}]}]}}`).
		with("env", `{"TOKEN_TTL":"3600","LOG_FORMAT":"json"}`))
}

// The two older cases: Backstage's namespace may not be one the security layer installs
// into, and the health-check path must be an HTTP path.
func TestNamespacesOfTheLayerAndPathsThatAreNoHTTPPathAreRefused(t *testing.T) {
	assertRefusedByClass(t, "older cases", []refusal{
		{"kind", "namespace", "ingress-nginx", "where the security layer installs ingress-nginx"},
		{"kind", "namespace", "cert-manager", "where the security layer installs cert-manager"},
		{"dev", "healthCheckPath", "healthcheck", "must be an absolute path"},
		{"dev", "healthCheckPath", "//evil.example.com/health", "must be an absolute path"},
		{"dev", "healthCheckPath", "/health check", "is not an HTTP path"},
		{"dev", "healthCheckPath", "/health#ready", "is not an HTTP path"},
		{"dev", "healthCheckPath", "/a/../healthcheck", "has a .. segment"},
	})
	mustRun(t, loadStack(t, "dev").with("healthCheckPath", "/.backstage/health/v1/readiness?verbose=1"))
}

// What the API server would refuse half-way through an up is refused first: taint keys
// and values that no taint can have, a backup schedule with a time zone.
func TestWhatTheAPIServerWouldRefuseIsRefusedFirst(t *testing.T) {
	assertRefusedByClass(t, "Kubernetes' own rules", []refusal{
		{"dev", "tolerations", `[{"key":"bad key!","operator":"Exists"}]`, "is not a taint key"},
		{"dev", "tolerations", `[{"key":"dedicated","operator":"Equal","value":"not a value","effect":"NoSchedule"}]`, "is not a taint value"},
		{"dev", "backup", `{"schedule":"TZ=Europe/Paris 17 3 * * *"}`, "names a time zone, which the API server refuses"},
		{"dev", "backup", `{"schedule":"CRON_TZ=UTC 17 3 * * *"}`, "names a time zone"},
		{"dev", "podLabels", `{"team":"` + strings.Repeat("x", 64) + `"}`, "is not a label value"},
		{"dev", "postgresStorageClass", "Not_A_Class", `"Not_A_Class" is not a valid StorageClass name`},
		{"dev", "maxUnavailable", "150%", "is over 100%, which the API server refuses"},
		{"dev", "resources", `{"requests":{"cpu":"500m","memory":"1"},"limits":{"cpu":"2","memory":"2Gi"}}`, "memory is in bytes, so write the unit"},
		{"dev", "postgresResources", `{"requests":{"cpu":"500m","memory":"512Mi"},"limits":{"cpu":"2","memory":"2048"}}`, "memory is in bytes, so write the unit"},
	})
}
