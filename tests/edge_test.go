package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const typeHTTPRoute = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"

// withGateway is a stack on the Gateway API edge: an HTTPRoute on an existing Gateway.
func withGateway(t *testing.T, stack string) stackConfig {
	return loadStack(t, stack).
		with("edge", "gateway").
		with("gatewayRef", "gateway-system/shared").
		with("installSecurityLayer", "false")
}

func TestGatewayEdgeAttachesAnHTTPRouteInsteadOfAnIngress(t *testing.T) {
	rec := mustRun(t, withGateway(t, "prod"))
	assert.Empty(t, rec.ofType(typeIngress), "no Ingress, so nothing depends on ingress-nginx")
	assert.Empty(t, rec.ofType(typeChart), "the Gateway's owner runs its implementation")

	route := rec.kube(t, typeHTTPRoute, "backstage").Inputs
	assert.Equal(t, "backstage", str(route, "metadata", "namespace"))
	assert.Equal(t, "Gateway", str(route, "spec", "parentRefs", "0", "kind"))
	assert.Equal(t, "gateway-system", str(route, "spec", "parentRefs", "0", "namespace"))
	assert.Equal(t, "shared", str(route, "spec", "parentRefs", "0", "name"))
	assert.Equal(t, []any{"backstage.arhean.com"}, plain(get(route, "spec", "hostnames")))
	rule := get(route, "spec", "rules", "0").ObjectValue()
	assert.Equal(t, "PathPrefix", str(rule, "matches", "0", "path", "type"))
	assert.Equal(t, "/", str(rule, "matches", "0", "path", "value"))
	assert.Equal(t, "backstage", str(rule, "backendRefs", "0", "name"))
	assert.Equal(t, "80", str(rule, "backendRefs", "0", "port"))
	assert.Equal(t, "Strict-Transport-Security", str(rule, "filters", "0", "responseHeaderModifier", "set", "0", "name"))
	assert.Contains(t, str(rule, "filters", "0", "responseHeaderModifier", "set", "0", "value"), "max-age=31536000")

	policy := rec.kube(t, typeNetPol, "backstage-ingress").Inputs
	assert.Equal(t, "gateway-system", str(policy, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
		"only the Gateway's data plane reaches Backstage")
	env := rec.kube(t, typeConfigMap, "backstage-env-config").Inputs
	assert.Equal(t, "https://backstage.arhean.com", str(env, "data", "APP_BASE_URL"), "the Gateway's owner terminates TLS")

	dataPlane := mustRun(t, withGateway(t, "prod").with("ingressControllerNamespace", "envoy-gateway-system"))
	assert.Equal(t, "envoy-gateway-system", str(dataPlane.kube(t, typeNetPol, "backstage-ingress").Inputs,
		"spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
		"a data plane outside the Gateway's namespace is named explicitly")
}

func TestGatewayEdgeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     stackConfig
		wantErr []string
	}{
		{"a Gateway without the edge", loadStack(t, "prod").with("gatewayRef", "gateway-system/shared"), []string{"backstage:gatewayRef: is set but edge is ingress-nginx"}},
		{"the edge without a Gateway", withGateway(t, "prod").with("gatewayRef", "<unset>"), []string{"backstage:gatewayRef: is required with edge: gateway"}},
		{"the edge with the layer", withGateway(t, "prod").with("installSecurityLayer", "true"), []string{"backstage:edge: is gateway (a Gateway someone else runs), but installSecurityLayer is true", "installSecurityLayer false"}},
		{"not namespace/name", withGateway(t, "prod").with("gatewayRef", "shared"), []string{"backstage:gatewayRef:", "not namespace/name"}},
	} {
		t.Run(tc.name, func(t *testing.T) { assertRefused(t, tc.cfg, tc.wantErr...) })
	}
}
