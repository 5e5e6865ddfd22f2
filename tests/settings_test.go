package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The Backstage settings of the key table, each followed to the objects it shapes.

const (
	typeMonitor = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"

	gitlabToken      = "glpat-mock-token"
	registryPassword = "mock-registry-password"
	backendSecret    = "mock-backend-secret-0123456789"
)

var settingsAppConfig = `{"app":{"title":"Arhean Backstage"},` +
	`"auth":{"providers":{"gitlab":{"production":{"clientId":"abc","clientSecret":"${GITLAB_CLIENT_SECRET}"}}}},` +
	`"catalog":{"locations":[{"type":"url","target":"https://github.com/arhean/catalog/blob/main/all.yaml"}]}}`

// withEverySetting is the kind stack with every Backstage setting set.
func withEverySetting(t *testing.T) stackConfig {
	return loadStack(t, "kind").
		with("appConfig", settingsAppConfig).
		with("env", `{"LOG_FORMAT":"json"}`).
		withSecret("secretEnv", `{"GITLAB_TOKEN":"`+gitlabToken+`","GITLAB_CLIENT_SECRET":"mock-gitlab-secret"}`).
		withSecret("backendSecret", backendSecret).
		with("imagePullSecrets", `["ghcr-pull"]`).
		withSecret("registryAuth", `{"server":"ghcr.io","username":"bot","password":"`+registryPassword+`"}`).
		with("imagePullPolicy", "IfNotPresent").
		with("caBundle", testCertificatePEM(t)).
		with("resources", `{"requests":{"cpu":"500m","memory":"1Gi"},"limits":{"cpu":"2","memory":"4Gi"}}`).
		with("postgresResources", `{"requests":{"cpu":"500m","memory":"1Gi"},"limits":{"cpu":"2","memory":"2Gi"}}`).
		with("postgresSharedBuffers", "768MB").
		with("nodeSelector", `{"node-pool":"apps"}`).
		with("tolerations", `[{"key":"dedicated","operator":"Equal","value":"backstage","effect":"NoSchedule"}]`).
		with("priorityClassName", "platform-critical").
		with("metrics", `{"scraperNamespace":"monitoring","serviceMonitor":true}`).
		with("rolloutStrategy", "Recreate")
}

func TestEverySettingReachesItsObjects(t *testing.T) {
	rec := mustRun(t, withEverySetting(t))
	deploy := rec.kube(t, typeDeployment, "backstage").Inputs
	pod := get(deploy, "spec", "template", "spec").ObjectValue()
	app := get(pod, "containers", "0").ObjectValue()

	// appConfig: a ConfigMap, mounted read-only, loaded after the image's own files.
	appConfig := rec.kube(t, typeConfigMap, "backstage-app-config").Inputs
	var rendered map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(str(appConfig, "data", "app-config.extra.yaml")), &rendered))
	var want map[string]any
	require.NoError(t, json.Unmarshal([]byte(settingsAppConfig), &want))
	assert.Equal(t, want, rendered)
	assert.Equal(t, []any{"node", "packages/backend"}, plain(get(app, "command")))
	// The database file (the pool that fits the connection budget) is loaded last.
	assert.Equal(t, []any{"--config", "app-config.yaml", "--config", "app-config.production.yaml",
		"--config", "/app/config-extra/app-config.extra.yaml", "--config", "/app/config-extra/app-config.database.yaml"}, plain(get(app, "args")))
	assert.Equal(t, "/app/config-extra", mountPath(app, "app-config"))
	assert.Len(t, str(deploy, "spec", "template", "metadata", "annotations", "checksum/app-config"), 64)

	// env and secretEnv: the ConfigMap and the Secret, secret values secret.
	env := rec.kube(t, typeConfigMap, "backstage-env-config").Inputs
	assert.Equal(t, "json", str(env, "data", "LOG_FORMAT"))
	assert.Equal(t, "/etc/backstage/ca/ca.crt", str(env, "data", "NODE_EXTRA_CA_CERTS"))
	secret := rec.kube(t, typeSecret, "backstage-secrets").Inputs
	for key, value := range map[string]string{"GITLAB_TOKEN": gitlabToken, "BACKEND_SECRET": backendSecret} {
		assert.Equal(t, value, str(secret, "stringData", key))
		assert.True(t, isSecretAt(secret, "stringData", key), "%s stays secret", key)
	}
	assert.Empty(t, rec.ofTypeNamed(typePassword, "backstage-backend-secret"), "backendSecret set: nothing generated")

	// registryAuth and imagePullSecrets: a dockerconfigjson Secret, both referenced.
	registry := rec.kube(t, typeSecret, "backstage-registry").Inputs
	assert.Equal(t, "kubernetes.io/dockerconfigjson", str(registry, "type"))
	assert.True(t, isSecretAt(registry, "stringData", ".dockerconfigjson"))
	var docker struct {
		Auths map[string]struct{ Username, Password string }
	}
	require.NoError(t, json.Unmarshal([]byte(str(registry, "stringData", ".dockerconfigjson")), &docker))
	assert.Equal(t, registryPassword, docker.Auths["ghcr.io"].Password)
	assert.Equal(t, []any{map[string]any{"name": "ghcr-pull"}, map[string]any{"name": "backstage-registry"}}, plain(get(pod, "imagePullSecrets")))
	assert.Equal(t, "IfNotPresent", str(app, "imagePullPolicy"))
	assert.Equal(t, "IfNotPresent", str(pod, "initContainers", "0", "imagePullPolicy"))

	// caBundle: its own ConfigMap, mounted read-only.
	bundle := rec.kube(t, typeConfigMap, "backstage-ca-bundle").Inputs
	assert.Contains(t, str(bundle, "data", "ca.crt"), "BEGIN CERTIFICATE")
	assert.Equal(t, "/etc/backstage/ca", mountPath(app, "ca-bundle"))

	// resources: the containers' requests and limits, and Node's heap at half the limit.
	assert.Equal(t, "500m", str(app, "resources", "requests", "cpu"))
	assert.Equal(t, "4Gi", str(app, "resources", "limits", "memory"))
	assert.Equal(t, "--max-old-space-size=2048", envValue(app, "NODE_OPTIONS"))
	sts := rec.kube(t, typeStatefulSet, "psql-postgresql").Inputs
	pgPod := get(sts, "spec", "template", "spec").ObjectValue()
	assert.Equal(t, "2Gi", str(pgPod, "containers", "0", "resources", "limits", "memory"))
	assert.Equal(t, "1Gi", shmSize(pgPod), "/dev/shm is half of PostgreSQL's memory limit")

	// scheduling: both pods.
	for name, p := range map[string]resource.PropertyMap{"backstage": pod, "postgres": pgPod} {
		assert.Equal(t, "apps", str(p, "nodeSelector", "node-pool"), name)
		assert.Equal(t, "dedicated", str(p, "tolerations", "0", "key"), name)
		assert.Equal(t, "platform-critical", str(p, "priorityClassName"), name)
	}
	assert.Equal(t, "10", str(app, "lifecycle", "preStop", "sleep", "seconds"))
	assert.Equal(t, "45", str(pod, "terminationGracePeriodSeconds"))

	// metrics: the port, the Service port, the annotations on it, the policy and the monitor.
	assert.Equal(t, "9464", str(app, "ports", "1", "containerPort"))
	assert.Equal(t, "9464", str(deploy, "spec", "template", "metadata", "annotations", "prometheus.io/port"))
	svc := rec.kube(t, typeService, "backstage").Inputs
	assert.Equal(t, "metrics", str(svc, "spec", "ports", "1", "name"))
	policy := rec.kube(t, typeNetPol, "backstage-metrics").Inputs
	assert.Equal(t, "monitoring", str(policy, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	assert.Equal(t, "9464", str(policy, "spec", "ingress", "0", "ports", "0", "port"))
	assert.Len(t, rec.ofType(typeMonitor), 1)

	// rolloutStrategy.
	assert.Equal(t, "Recreate", str(deploy, "spec", "strategy", "type"))
	assert.Empty(t, str(deploy, "spec", "strategy", "rollingUpdate", "maxSurge"), "Recreate takes no rolling budget")

	// No secret value outside the Secrets that hold them.
	for _, res := range rec.Registrations() {
		if res.Type == typeSecret || res.Type == typePassword || strings.HasPrefix(res.Type, "tls:") {
			continue
		}
		for _, value := range []string{gitlabToken, registryPassword, backendSecret, "mock-gitlab-secret"} {
			assert.False(t, containsString(get(res.Inputs), value), "%s carries a secret value in plaintext", res.Name)
		}
	}
}

// A pod reads its files and environment only at start: a change must roll the pods,
// and only a change may.
func TestAppConfigChecksumChangesWhenAndOnlyWhenAppConfigDoes(t *testing.T) {
	annotations := func(cfg stackConfig) map[string]any {
		rec := mustRun(t, cfg)
		return plain(get(rec.kube(t, typeDeployment, "backstage").Inputs, "spec", "template", "metadata", "annotations")).(map[string]any)
	}
	base := withEverySetting(t)
	first, again := annotations(base), annotations(base)
	assert.Equal(t, first, again, "the same settings give the same pod template")

	changed := annotations(base.with("appConfig", strings.Replace(settingsAppConfig, "Arhean Backstage", "Arhean Portal", 1)))
	assert.NotEqual(t, first["checksum/app-config"], changed["checksum/app-config"])
	for _, key := range []string{"checksum/config", "checksum/secrets", "checksum/ca-bundle"} {
		assert.Equal(t, first[key], changed[key], "%s stays: only app-config changed", key)
	}
}

func TestBackendSecretIsGeneratedOnceWhenNotSet(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			secret := rec.kube(t, typeSecret, "backstage-secrets").Inputs
			assert.True(t, isSecretAt(secret, "stringData", "BACKEND_SECRET"))
			generated := rec.ofTypeNamed(typePassword, "backstage-backend-secret")
			if want.stack == "local" {
				assert.Empty(t, generated, "local sets backendSecret: no random plugin on this machine")
				assert.Equal(t, secretPlaceholder+"backstage:backendSecret", str(secret, "stringData", "BACKEND_SECRET"))
				return
			}
			require.Len(t, generated, 1)
			assert.Empty(t, get(generated[0].Inputs, "keepers").V, "no keepers: generated once, never regenerated")
			assert.Equal(t, mockGeneratedPassword, str(secret, "stringData", "BACKEND_SECRET"))
		})
	}
}

// A program sees secrecy per top-level key: one secure leaf makes the whole map secret.
// So the committed stack files must hold no plaintext leaf under a secret map.
func TestStackFilesHoldNoPlaintextSecretLeaf(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var stack struct {
			Config map[string]any `yaml:"config"`
		}
		require.NoError(t, yaml.Unmarshal(data, &stack))
		for _, key := range []string{"backstage:secretEnv", "backstage:registryAuth"} {
			if value, ok := stack.Config[key]; ok {
				for _, leaf := range plaintextLeaves(key, value) {
					assert.Fail(t, "plaintext secret", "%s: %s is not encrypted; set it with `pulumi config set --secret --path '%s'`", filepath.Base(file), leaf, leaf)
				}
			}
		}
	}
	assert.Equal(t, []string{"backstage:secretEnv.B"}, plaintextLeaves("backstage:secretEnv",
		map[string]any{"A": map[string]any{"secure": "v1:abc"}, "B": "plain"}), "the check sees a plaintext leaf")
}

// plaintextLeaves lists the paths under a stack value that are not {secure: ...}.
func plaintextLeaves(path string, value any) []string {
	m, ok := value.(map[string]any)
	if !ok {
		return []string{path}
	}
	if _, secure := m["secure"]; secure && len(m) == 1 {
		return nil
	}
	var out []string
	for k, v := range m {
		out = append(out, plaintextLeaves(path+"."+k, v)...)
	}
	return out
}

func mountPath(container resource.PropertyMap, volume string) string {
	for _, m := range get(container, "volumeMounts").ArrayValue() {
		mount := m.ObjectValue()
		if str(mount, "name") == volume {
			if str(mount, "readOnly") != "true" {
				return "writable: " + str(mount, "mountPath")
			}
			return str(mount, "mountPath")
		}
	}
	return ""
}

func envValue(container resource.PropertyMap, name string) string {
	for _, e := range get(container, "env").ArrayValue() {
		if str(e.ObjectValue(), "name") == name {
			return str(e.ObjectValue(), "value")
		}
	}
	return ""
}

func shmSize(pod resource.PropertyMap) string {
	for _, v := range get(pod, "volumes").ArrayValue() {
		if str(v.ObjectValue(), "name") == "shm" {
			return str(v.ObjectValue(), "emptyDir", "sizeLimit")
		}
	}
	return ""
}

// testCertificatePEM is a throwaway self-signed certificate, as a caBundle holds.
func testCertificatePEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Internal CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// ConfigMaps and Secrets keep their fixed names and change in place: immutable ones
// would be replaced on every edit, and the Deployment with them (found on the real
// engine: an app-config edit previewed as two replacements).
func TestTheProviderUpdatesConfigMapsAndSecretsInPlace(t *testing.T) {
	rec := mustRun(t, loadStack(t, "prod"))
	providers := rec.ofType(typeProvider)
	require.Len(t, providers, 1)
	assert.Equal(t, "true", str(providers[0].Inputs, "enableConfigMapMutable"))
	assert.Equal(t, "true", str(providers[0].Inputs, "enableSecretMutable"))
}

// The app logs in as a role that is no superuser; the superuser's password is in its own
// Secret, and in no object Backstage can read.
func TestTheAppNeverHoldsTheSuperuserPassword(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			superuser := mockBootstrapPassword
			if want.stack == "local" {
				superuser = secretPlaceholder + "backstage:postgresBootstrapPassword"
			}
			bootstrap := rec.kube(t, typeSecret, "psql-postgresql-bootstrap")
			assert.Equal(t, superuser, str(bootstrap.Inputs, "stringData", "password"))
			assert.True(t, isSecretAt(bootstrap.Inputs, "stringData", "password"))
			assert.True(t, bootstrap.RetainOnDelete, "the superuser's password outlives a destroy, with the data it opens")
			for _, res := range rec.Registrations() {
				if res.Name == "postgres-bootstrap-secret" || res.Type == typePassword {
					continue
				}
				assert.False(t, containsString(get(res.Inputs), superuser), "%s holds the superuser password", res.Name)
			}
			secrets := rec.kube(t, typeSecret, "backstage-secrets").Inputs
			assert.NotEqual(t, "postgres", str(secrets, "stringData", "POSTGRES_USER"))
		})
	}
}

// The role Job is a one-off: once it completed, nothing may replace it and so run it again.
func TestTheRoleJobRunsOnce(t *testing.T) {
	rec := mustRun(t, loadStack(t, "prod"))
	jobs := rec.ofType(typeJob)
	require.Len(t, jobs, 1)
	assert.Equal(t, []string{"spec"}, jobs[0].IgnoreChanges)
	assert.True(t, dependsOn(jobs[0], "postgres-statefulset"), "it runs once the server is ready")
}

// maintenance stops Backstage for a restore or an upgrade, and says so at every run.
func TestMaintenanceStopsBackstage(t *testing.T) {
	cfg := loadStack(t, "prod").with("maintenance", "true")
	rec := mustRun(t, cfg)
	assert.Equal(t, "0", str(rec.kube(t, typeDeployment, "backstage").Inputs, "spec", "replicas"))
	warnings := loadConfig(t, cfg).Warnings
	assert.Contains(t, strings.Join(warnings, "\n"), "backstage:maintenance: Backstage is stopped for maintenance")
	assert.Equal(t, "2", str(mustRun(t, loadStack(t, "prod")).kube(t, typeDeployment, "backstage").Inputs, "spec", "replicas"))
}
