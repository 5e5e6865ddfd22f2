//go:build e2e

package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// TestE2EPlatformAdditionsConverge: a stack with the platform's additions (an existing
// Secret as environment, an annotated ServiceAccount, an extra egress rule, a native
// sidecar, pod labels and annotations, autoscaling) converges on the local API server,
// which admits the pod under Pod Security restricted and holds each addition; a second
// up is a no-op, also after the autoscaler has changed the replica count.
func TestE2EPlatformAdditionsConverge(t *testing.T) {
	s, ctx := freshE2EStack(t, "additions", 6*time.Minute)
	// The platform's own store made this Secret before the stack runs (External Secrets).
	_, err := kubectl(t, "create", "namespace", e2eNamespace)
	require.NoError(t, err)
	_, err = kubectl(t, "create", "secret", "generic", "backstage-extra", "-n", e2eNamespace, "--from-literal=EXTRA_GREETING=hello")
	require.NoError(t, err)

	require.NoError(t, s.RemoveConfig(ctx, "backstage:replicas"), "the autoscaler owns the count")
	for key, value := range map[string]string{
		"serviceAccountAnnotations": `{"eks.amazonaws.com/role-arn":"arn:aws:iam::123456789012:role/backstage"}`,
		"egressRules":               `[{"cidrs":["10.1.2.0/24"],"ports":[{"port":8200}]}]`,
		"sidecars":                  fmt.Sprintf(`[{"name":"agent","image":%q,"command":["sleep","86400"]}]`, pins.InitImage),
		"podLabels":                 `{"team":"platform"}`,
		"podAnnotations":            `{"example.com/owner":"platform"}`,
		"autoscaling":               `{"minReplicas":2,"maxReplicas":3,"targetCPUUtilizationPercentage":70}`,
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}), key)
	}
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:envFromSecrets[0]", auto.ConfigValue{Value: "backstage-extra"}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s))

	deploy := object(t, "deployment", "backstage")
	pod := field(deploy, "spec", "template")
	assert.Equal(t, "backstage-extra", fieldString(pod, "spec", "containers", "0", "envFrom", "0", "secretRef", "name"))
	assert.Equal(t, "agent", fieldString(pod, "spec", "initContainers", "0", "name"))
	assert.Equal(t, "Always", fieldString(pod, "spec", "initContainers", "0", "restartPolicy"))
	assert.Equal(t, "platform", fieldString(pod, "metadata", "labels", "team"))
	assert.Equal(t, "platform", fieldString(pod, "metadata", "annotations", "example.com/owner"))
	assert.Equal(t, "arn:aws:iam::123456789012:role/backstage",
		fieldString(object(t, "serviceaccount", "backstage"), "metadata", "annotations", "eks.amazonaws.com/role-arn"))
	assert.Contains(t, fieldString(object(t, "networkpolicy", "backstage-egress"), "spec", "egress"), "10.1.2.0/24")
	hpa := object(t, "hpa", "backstage")
	assert.Equal(t, "3", fieldString(hpa, "spec", "maxReplicas"))

	// The Deployment was applied without replicas (1 by default); the autoscaler
	// enforces its floor even without metrics, so the count becomes 2, not the program's.
	waitFor(t, "the autoscaler raises the Deployment to minReplicas", 90*time.Second, func() bool {
		return fieldString(object(t, "deployment", "backstage"), "spec", "replicas") == "2"
	})
	running := func() []string {
		out, err := kubectl(t, "get", "pods", "-n", e2eNamespace, "-l", "app=backstage", "-o", `jsonpath={range .items[*]}{.status.phase}{"\n"}{end}`)
		require.NoError(t, err)
		return strings.Fields(out)
	}
	waitFor(t, "two Backstage pods admitted and running", 60*time.Second, func() bool {
		return strings.Join(running(), " ") == "Running Running"
	})

	res, err := s.Up(ctx)
	require.NoError(t, err)
	for op, n := range *res.Summary.ResourceChanges {
		assert.Equal(t, "same", op, "%d resources would %s after the autoscaler's change", n, op)
	}

	// Another count within the bounds, as the autoscaler would set under load.
	_, err = kubectl(t, "scale", "deployment", "backstage", "-n", e2eNamespace, "--replicas=3")
	require.NoError(t, err)
	_, err = s.Preview(ctx, optpreview.ExpectNoChanges())
	require.NoError(t, err, "the preview plans nothing")
	require.NoError(t, cliUp(ctx, s))
	assert.Equal(t, "3", fieldString(object(t, "deployment", "backstage"), "spec", "replicas"), "the up left the autoscaler's count")

	// An up that does apply the Deployment (an image bump) leaves it too: the program
	// never applies replicas while the autoscaler owns them.
	require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: "ghcr.io/arhean/backstage:1.0.1"}))
	require.NoError(t, cliUp(ctx, s))
	deploy = object(t, "deployment", "backstage")
	assert.Equal(t, "ghcr.io/arhean/backstage:1.0.1", fieldString(deploy, "spec", "template", "spec", "containers", "0", "image"))
	assert.Equal(t, "3", fieldString(deploy, "spec", "replicas"), "the image bump kept the autoscaler's count")
}
