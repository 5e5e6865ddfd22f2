//go:build e2e

package tests

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EEveryBackstageSettingOnTheAPIServer sets every Backstage setting on the local
// stack and reads the result back from the API server; then an app-config edit must be
// one ConfigMap and one Deployment update, with the database and the secrets untouched.
func TestE2EEveryBackstageSettingOnTheAPIServer(t *testing.T) {
	s, ctx := freshE2EStack(t, "settings", 6*time.Minute)

	// What the cluster must offer for the scheduling settings: the PriorityClass exists
	// and the one node carries the selected label and the taint.
	_, err := kubectl(t, "create", "priorityclass", "platform-critical", "--value=1000")
	if err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		require.NoError(t, err)
	}
	_, err = kubectl(t, "label", "node", "kwok-node-0", "node-pool=apps", "--overwrite")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = kubectl(t, "label", "node", "kwok-node-0", "node-pool-")
		_, _ = kubectl(t, "delete", "priorityclass", "platform-critical", "--ignore-not-found")
	})

	caBundle := testCertificatePEM(t)
	// Maps and lists as a stack file holds them (set with --path), not as JSON strings:
	// the CLI validates the declared list keys, and the program reads both forms.
	var appConfig map[string]any
	require.NoError(t, json.Unmarshal([]byte(settingsAppConfig), &appConfig))
	for path, value := range configPaths("backstage:appConfig", appConfig) {
		require.NoError(t, s.SetConfigWithOptions(ctx, path, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}))
	}
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:imagePullSecrets[0]", auto.ConfigValue{Value: "ghcr-pull"}, &auto.ConfigOptions{Path: true}))
	plainSettings := map[string]string{
		"env":               `{"LOG_FORMAT":"json"}`,
		"imagePullPolicy":   "IfNotPresent",
		"caBundle":          caBundle,
		"resources":         `{"requests":{"cpu":"500m","memory":"1Gi"},"limits":{"cpu":"2","memory":"4Gi"}}`,
		"postgresResources": `{"requests":{"cpu":"500m","memory":"1Gi"},"limits":{"cpu":"2","memory":"2Gi"}}`,
		"nodeSelector":      `{"node-pool":"apps"}`,
		"tolerations":       `[{"key":"dedicated","operator":"Equal","value":"backstage","effect":"NoSchedule"}]`,
		"priorityClassName": "platform-critical",
		"metrics":           `{"scraperNamespace":"monitoring"}`,
		"rolloutStrategy":   "Recreate",
	}
	for key, value := range plainSettings {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
	for key, value := range map[string]string{
		"secretEnv":    `{"GITLAB_TOKEN":"` + gitlabToken + `","GITLAB_CLIENT_SECRET":"mock-gitlab-secret"}`,
		"registryAuth": `{"server":"ghcr.io","username":"bot","password":"` + registryPassword + `"}`,
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value, Secret: true}))
	}

	require.NoError(t, cliUp(ctx, s), "a stack with every setting converges")

	appConfigMap := object(t, "configmap", "backstage-app-config")
	assert.Contains(t, fieldString(appConfigMap, "data", "app-config.extra.yaml"), "title: Arhean Backstage")
	env := object(t, "configmap", "backstage-env-config")
	assert.Equal(t, "json", fieldString(env, "data", "LOG_FORMAT"))
	assert.Equal(t, "/etc/backstage/ca/ca.crt", fieldString(env, "data", "NODE_EXTRA_CA_CERTS"))
	assert.Equal(t, caBundle, fieldString(object(t, "configmap", "backstage-ca-bundle"), "data", "ca.crt"))
	secrets := object(t, "secret", "backstage-secrets")
	assert.Equal(t, gitlabToken, decoded(t, fieldString(secrets, "data", "GITLAB_TOKEN")))
	backend := decoded(t, fieldString(secrets, "data", "BACKEND_SECRET"))
	assert.NotEmpty(t, backend)
	password := decoded(t, fieldString(secrets, "data", "POSTGRES_PASSWORD"))
	registry := object(t, "secret", "backstage-registry")
	assert.Equal(t, "kubernetes.io/dockerconfigjson", fieldString(registry, "type"))
	assert.Contains(t, decoded(t, fieldString(registry, "data", ".dockerconfigjson")), registryPassword)

	deploy := object(t, "deployment", "backstage")
	assert.Equal(t, fieldString(deploy, "spec", "replicas"), fieldString(deploy, "status", "readyReplicas"), "Deployment Ready")
	pod := field(deploy, "spec", "template", "spec")
	assert.Equal(t, "apps", fieldString(pod, "nodeSelector", "node-pool"))
	assert.Equal(t, "platform-critical", fieldString(pod, "priorityClassName"))
	assert.Equal(t, "Recreate", fieldString(deploy, "spec", "strategy", "type"))
	assert.Contains(t, fieldString(pod, "imagePullSecrets"), "backstage-registry")
	assert.Contains(t, fieldString(pod, "containers", "0", "args"), "/app/config-extra/app-config.extra.yaml")
	sts := object(t, "statefulset", "psql-postgresql")
	assert.Equal(t, "1", fieldString(sts, "status", "readyReplicas"), "StatefulSet Ready on the selected node")
	object(t, "networkpolicy", "backstage-metrics")
	stsUID, claimUID := fieldString(sts, "metadata", "uid"), fieldString(object(t, "pvc", "data-psql-postgresql-0"), "metadata", "uid")

	// An app-config edit: the ConfigMap and the Deployment (its checksum), nothing else.
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:appConfig.app.title", auto.ConfigValue{Value: "Arhean Portal"}, &auto.ConfigOptions{Path: true}))
	preview, err := s.Preview(ctx, optpreview.Diff())
	require.NoError(t, err)
	assert.Equal(t, 2, preview.ChangeSummary["update"], "exactly two updates:\n%s", preview.StdOut)
	assert.Zero(t, preview.ChangeSummary["replace"]+preview.ChangeSummary["create"]+preview.ChangeSummary["delete"])
	assert.Contains(t, preview.StdOut, "kubernetes:core/v1:ConfigMap")
	assert.Contains(t, preview.StdOut, "kubernetes:apps/v1:Deployment")
	assert.NotContains(t, preview.StdOut, "StatefulSet: (update)")
	require.NoError(t, cliUp(ctx, s))
	assert.Contains(t, fieldString(object(t, "configmap", "backstage-app-config"), "data", "app-config.extra.yaml"), "title: Arhean Portal")
	after := object(t, "secret", "backstage-secrets")
	assert.Equal(t, backend, decoded(t, fieldString(after, "data", "BACKEND_SECRET")), "the backend secret keeps its value")
	assert.Equal(t, password, decoded(t, fieldString(after, "data", "POSTGRES_PASSWORD")), "the database password keeps its value")
	assert.Equal(t, stsUID, fieldString(object(t, "statefulset", "psql-postgresql"), "metadata", "uid"))
	assert.Equal(t, claimUID, fieldString(object(t, "pvc", "data-psql-postgresql-0"), "metadata", "uid"))
}

// configPaths flattens a map into `pulumi config set --path` keys and their values.
func configPaths(prefix string, value any) map[string]string {
	out := map[string]string{}
	switch v := value.(type) {
	case map[string]any:
		for k, child := range v {
			for path, leaf := range configPaths(prefix+"."+k, child) {
				out[path] = leaf
			}
		}
	case []any:
		for i, child := range v {
			for path, leaf := range configPaths(fmt.Sprintf("%s[%d]", prefix, i), child) {
				out[path] = leaf
			}
		}
	default:
		out[prefix] = fmt.Sprint(v)
	}
	return out
}

func decoded(t *testing.T, b64 string) string {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	return string(out)
}
