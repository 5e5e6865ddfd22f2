package edge

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestRetainCRDsKeepsOnlyCustomResourceDefinitions(t *testing.T) {
	crd := retainCRDs(context.Background(), &pulumi.ResourceTransformArgs{Type: crdType, Props: pulumi.Map{}})
	require.NotNil(t, crd)
	assert.True(t, crd.Opts.RetainOnDelete, "a deleted CRD deletes every object of its kind")

	for _, typ := range []string{"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Namespace", "kubernetes:cert-manager.io/v1:ClusterIssuer"} {
		assert.Nil(t, retainCRDs(context.Background(), &pulumi.ResourceTransformArgs{Type: typ}), typ)
	}
}

// The chart marks its API check, its ServiceAccount and its RBAC as post-install hooks,
// which a Chart drops; every hook key must be nulled, or the object vanishes and the
// issuers no longer wait for the webhook.
func TestStartupAPICheckValuesRemoveEveryHookAnnotation(t *testing.T) {
	var values struct {
		StartupAPICheck struct {
			Enabled        bool           `yaml:"enabled"`
			JobAnnotations map[string]any `yaml:"jobAnnotations"`
			RBAC           struct {
				Annotations map[string]any `yaml:"annotations"`
			} `yaml:"rbac"`
			ServiceAccount struct {
				Annotations map[string]any `yaml:"annotations"`
			} `yaml:"serviceAccount"`
		} `yaml:"startupapicheck"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(startupAPICheckWithoutHooks), &values))
	check := values.StartupAPICheck
	assert.True(t, check.Enabled)
	for what, annotations := range map[string]map[string]any{
		"job": check.JobAnnotations, "rbac": check.RBAC.Annotations, "serviceAccount": check.ServiceAccount.Annotations,
	} {
		for _, hookKey := range []string{"helm.sh/hook", "helm.sh/hook-weight", "helm.sh/hook-delete-policy"} {
			value, present := annotations[hookKey]
			assert.True(t, present && value == nil, "%s: %s must be null to delete the chart's default", what, hookKey)
		}
	}
}
