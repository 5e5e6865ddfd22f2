//go:build e2e

package tests

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatewayAPIVersion is the Gateway API release whose CRDs the API server is given; the
// module ships them (config/crd/standard).
const gatewayAPIVersion = "v1.6.3"

// TestE2EGatewayEdgeConverges: the local stack on the Gateway API edge. The API server
// gets the Gateway API CRDs from their module and a Gateway that a platform team would
// own; the stack attaches its HTTPRoute to it and converges, with no Ingress, and a
// second run changes nothing. (No Gateway implementation runs here: the route's
// acceptance and the traffic through it are the implementation's, unproven.)
func TestE2EGatewayEdgeConverges(t *testing.T) {
	requireControlPlane(t)
	out, err := exec.Command("go", "mod", "download", "-json", "sigs.k8s.io/gateway-api@"+gatewayAPIVersion).Output()
	require.NoError(t, err, "the Gateway API module from the module proxy")
	var module struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &module))
	for _, kind := range []string{"gatewayclasses", "gateways", "httproutes", "referencegrants"} {
		crd := filepath.Join(module.Dir, "config", "crd", "standard", "gateway.networking.k8s.io_"+kind+".yaml")
		applied, err := kubectl(t, "apply", "--server-side", "-f", crd)
		require.NoError(t, err, applied)
	}
	_, err = kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/httproutes.gateway.networking.k8s.io", "crd/gateways.gateway.networking.k8s.io")
	require.NoError(t, err)

	// The platform team's Gateway, admitting routes from every namespace.
	gateway := `
apiVersion: v1
kind: Namespace
metadata: {name: gateway-system}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: platform}
spec: {controllerName: example.com/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: gateway-system}
spec:
  gatewayClassName: platform
  listeners:
    - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
`
	cmd := exec.Command("kubectl", "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(gateway)
	applied, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", applied)
	t.Cleanup(func() {
		_, _ = kubectl(t, "delete", "namespace", "gateway-system", "--ignore-not-found", "--wait=false")
		_, _ = kubectl(t, "delete", "gatewayclass", "platform", "--ignore-not-found")
	})

	s, ctx := freshE2EStack(t, "gateway", 5*time.Minute)
	for key, value := range map[string]string{"edge": "gateway", "gatewayRef": "gateway-system/shared", "installSecurityLayer": "false"} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
	require.NoError(t, cliUp(ctx, s), "the Gateway edge converges")

	route := object(t, "httproute", "backstage")
	assert.Equal(t, "shared", fieldString(route, "spec", "parentRefs", "0", "name"))
	assert.Equal(t, "gateway-system", fieldString(route, "spec", "parentRefs", "0", "namespace"))
	assert.Equal(t, "backstage", fieldString(route, "spec", "rules", "0", "backendRefs", "0", "name"))
	assert.False(t, exists(t, "ingress", "backstage"), "no Ingress on the Gateway edge")
	policy := object(t, "networkpolicy", "backstage-ingress")
	assert.Equal(t, "gateway-system", fieldString(policy, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))

	preview, err := s.Preview(ctx)
	require.NoError(t, err)
	assertNothingReplacedOrDeleted(t, preview.ChangeSummary, "a second run")
	assert.Zero(t, preview.ChangeSummary[apitype.OpUpdate], "%v", preview.ChangeSummary)
}
