package stackrun

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const release = "urn:pulumi:dev::backstage::backstage:index:SecurityLayer$kubernetes:helm.sh/v3:Release::security-cert-manager"

const exported = `{
  "manifest": {"time": "2026-11-28T00:00:00Z"},
  "resources": [
    {"urn": "urn:pulumi:dev::backstage::pulumi:pulumi:Stack::backstage-dev", "type": "pulumi:pulumi:Stack"},
    {"urn": "` + release + `", "type": "kubernetes:helm.sh/v3:Release", "parent": "urn:pulumi:dev::backstage::backstage:index:SecurityLayer::security"},
    {"urn": "urn:pulumi:dev::backstage::backstage:index:SecurityLayer$kubernetes:cert-manager.io/v1:ClusterIssuer::security-letsencrypt-prod",
     "type": "kubernetes:cert-manager.io/v1:ClusterIssuer",
     "dependencies": ["` + release + `", "urn:other"],
     "propertyDependencies": {"spec": ["` + release + `"]},
     "deletedWith": "` + release + `"}
  ]
}`

func TestWithoutHelmReleasesDropsTheReleasesAndEveryReference(t *testing.T) {
	edited, removed, err := withoutHelmReleases(json.RawMessage(exported))
	require.NoError(t, err)
	assert.Equal(t, []string{release}, removed)

	var deployment struct {
		Manifest  map[string]any   `json:"manifest"`
		Resources []map[string]any `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(edited, &deployment))
	assert.Equal(t, "2026-11-28T00:00:00Z", deployment.Manifest["time"], "the rest of the state is kept")
	require.Len(t, deployment.Resources, 2)
	issuer := deployment.Resources[1]
	assert.Equal(t, []any{"urn:other"}, issuer["dependencies"])
	assert.Equal(t, map[string]any{"spec": []any{}}, issuer["propertyDependencies"])
	assert.NotContains(t, issuer, "deletedWith")
}

func TestWithoutHelmReleasesLeavesAStateWithoutThemAlone(t *testing.T) {
	state := json.RawMessage(`{"resources": [{"urn": "a", "type": "kubernetes:core/v1:Namespace"}]}`)
	edited, removed, err := withoutHelmReleases(state)
	require.NoError(t, err)
	assert.Empty(t, removed)
	assert.JSONEq(t, string(state), string(edited))
}
