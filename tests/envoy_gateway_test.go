package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// edge: envoy-gateway installs the maintained edge in the security layer, with the
// policy the ingress-nginx edge has, in Gateway API objects.
func TestEnvoyGatewayEdgeInstallsTheImplementationAndItsPolicy(t *testing.T) {
	rec := mustRun(t, envoyGatewayProd(t))
	const ns = "envoy-gateway-system"

	charts := rec.ofType(typeChart)
	require.Len(t, charts, 2, "cert-manager and Envoy Gateway; no ingress-nginx")
	eg := rec.byName(t, "security-envoy-gateway").Inputs
	assert.Equal(t, "oci://docker.io/envoyproxy/gateway-helm", str(eg, "chart"))
	assert.Equal(t, pins.EnvoyGatewayChartVersion, str(eg, "version"))
	assert.Equal(t, "docker.io/envoyproxy/gateway:"+pins.EnvoyGatewayChartVersion, str(eg, "values", "global", "images", "envoyGateway", "image"),
		"the controller's image is the chart's version, also for a chart built from source")
	assert.Equal(t, "false", str(eg, "values", "topologyInjector", "enabled"), "its webhook is a Helm hook, which a Chart drops")
	assert.Equal(t, "false", str(eg, "values", "crds", "gatewayAPI", "safeUpgradePolicy", "enabled"),
		"rendered only while absent or Helm's, it would flip between create and delete on every up")
	assert.Equal(t, "2", str(eg, "values", "deployment", "replicas"), "production")
	assert.Equal(t, "1", str(eg, "values", "podDisruptionBudget", "minAvailable"))
	assert.Equal(t, "true", str(rec.byName(t, "security-cert-manager").Inputs, "values", "config", "enableGatewayAPI"),
		"cert-manager issues the listener's certificate and solves HTTP-01 with HTTPRoutes")
	assert.Empty(t, rec.ofType(typeIngress))

	certgen := rec.kube(t, typeJob, "envoy-gateway-certgen")
	assert.Equal(t, ns, str(certgen.Inputs, "metadata", "namespace"))
	assert.Equal(t, []any{"--disable-topology-injector"}, plain(get(certgen.Inputs, "spec", "template", "spec", "containers", "0", "args")),
		"the chart's certgen hook, made an ordinary Job")

	proxy := rec.kube(t, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "backstage-envoy").Inputs
	k8s := get(proxy, "spec", "provider", "kubernetes").ObjectValue()
	assert.Equal(t, "Local", str(k8s, "envoyService", "externalTrafficPolicy"), "client addresses reach the rate limit")
	assert.Equal(t, "2", str(k8s, "envoyDeployment", "replicas"))
	assert.Equal(t, "1", str(k8s, "envoyPDB", "minAvailable"))
	assert.Equal(t, "RuntimeDefault", str(k8s, "envoyDeployment", "pod", "securityContext", "seccompProfile", "type"))

	class := rec.kube(t, "kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "backstage-envoy").Inputs
	assert.Equal(t, "gateway.envoyproxy.io/gatewayclass-controller", str(class, "spec", "controllerName"))
	assert.Equal(t, "EnvoyProxy", str(class, "spec", "parametersRef", "kind"))

	gw := rec.kube(t, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "backstage").Inputs
	assert.Equal(t, "letsencrypt-prod", str(gw, "metadata", "annotations", "cert-manager.io/cluster-issuer"))
	assert.Equal(t, "http", str(gw, "spec", "listeners", "0", "name"))
	assert.Equal(t, "Same", str(gw, "spec", "listeners", "0", "allowedRoutes", "namespaces", "from"), "the redirect and ACME's challenge routes")
	assert.Equal(t, "https", str(gw, "spec", "listeners", "1", "name"))
	assert.Equal(t, "backstage.arhean.com", str(gw, "spec", "listeners", "1", "hostname"))
	assert.Equal(t, "Terminate", str(gw, "spec", "listeners", "1", "tls", "mode"))
	assert.Equal(t, "backstage", str(gw, "spec", "listeners", "1", "allowedRoutes", "namespaces", "selector", "matchLabels", "kubernetes.io/metadata.name"),
		"only the app's namespace attaches to HTTPS")

	tls := rec.kube(t, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy", "backstage-tls").Inputs
	assert.Equal(t, "1.2", str(tls, "spec", "tls", "minVersion"))
	assert.Equal(t, "1.3", str(tls, "spec", "tls", "maxVersion"))

	redirect := rec.kube(t, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "backstage-https-redirect").Inputs
	assert.Equal(t, "http", str(redirect, "spec", "parentRefs", "0", "sectionName"))
	assert.Equal(t, "https", str(redirect, "spec", "rules", "0", "filters", "0", "requestRedirect", "scheme"))
	assert.Equal(t, "301", str(redirect, "spec", "rules", "0", "filters", "0", "requestRedirect", "statusCode"))

	route := rec.kube(t, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "backstage").Inputs
	assert.Equal(t, "backstage", str(route, "metadata", "namespace"))
	assert.Equal(t, ns, str(route, "spec", "parentRefs", "0", "namespace"))
	assert.Equal(t, "https", str(route, "spec", "parentRefs", "0", "sectionName"))
	assert.Equal(t, "Strict-Transport-Security", str(route, "spec", "rules", "0", "filters", "0", "responseHeaderModifier", "set", "0", "name"))

	limit := rec.kube(t, "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "backstage-rate-limit").Inputs
	assert.Equal(t, "HTTPRoute", str(limit, "spec", "targetRefs", "0", "kind"))
	for i, cidr := range []string{"0.0.0.0/0", "::/0"} {
		rule := get(limit, "spec", "rateLimit", "local", "rules").ArrayValue()[i].ObjectValue()
		assert.Equal(t, "Distinct", str(rule, "clientSelectors", "0", "sourceCIDR", "type"), "per client address")
		assert.Equal(t, cidr, str(rule, "clientSelectors", "0", "sourceCIDR", "value"))
	}

	for _, issuer := range rec.ofType(typeCustom) {
		solver := get(issuer.Inputs, "spec", "acme", "solvers")
		if solver.IsNull() {
			continue
		}
		parent := get(issuer.Inputs, "spec", "acme", "solvers", "0", "http01", "gatewayHTTPRoute", "parentRefs", "0").ObjectValue()
		assert.Equal(t, "backstage", str(parent, "name"), issuer.Name)
		assert.Equal(t, "http", str(parent, "sectionName"), issuer.Name)
	}

	controller := rec.kube(t, typeNetPol, "envoy-gateway-controller").Inputs
	assert.Equal(t, "18000", str(controller, "spec", "ingress", "0", "ports", "0", "port"), "xDS, from Envoy only")
	assert.Equal(t, "envoy", str(controller, "spec", "ingress", "0", "from", "0", "podSelector", "matchLabels", "app.kubernetes.io/name"))
	dataPlane := rec.kube(t, typeNetPol, "envoy-data-plane").Inputs
	assert.Equal(t, []any{map[string]any{"port": float64(10080), "protocol": "TCP"}, map[string]any{"port": float64(10443), "protocol": "TCP"}},
		plain(get(dataPlane, "spec", "ingress", "0", "ports")), "clients reach the listeners, and nothing else without a scraper")
	assert.Len(t, get(dataPlane, "spec", "ingress").ArrayValue(), 1)
}

// The edge's refusals: stated with the layer, keys of the other edge, the move's key
// without the move, Envoy Gateway's namespace.
func TestEnvoyGatewayEdgeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  stackConfig
		want string
	}{
		{"without the layer", loadStack(t, "dev").with("edge", "envoy-gateway").with("installSecurityLayer", "false"),
			"backstage:edge: is envoy-gateway, which the security layer installs, but installSecurityLayer is false"},
		{"with another Gateway", envoyGatewayProd(t).with("gatewayRef", "gateway-system/shared"),
			"backstage:gatewayRef: is set but edge is envoy-gateway, whose Gateway the security layer makes"},
		{"an ingress-nginx key", envoyGatewayProd(t).with("ingressNginxChartVersion", "4.14.0"),
			"backstage:ingressNginxChartVersion: is set, but backstage:edge is envoy-gateway, so it does nothing"},
		{"an Envoy Gateway key on ingress-nginx", loadStack(t, "prod").with("envoyGatewayChartVersion", "v1.9.0"),
			"backstage:envoyGatewayChartVersion: is set, but backstage:edge is ingress-nginx, so it does nothing"},
		{"an old release", envoyGatewayProd(t).with("envoyGatewayChartVersion", "v1.8.2"),
			"older than v1.9.0"},
		{"unset with the layer", loadStack(t, "prod").with("edge", "<unset>"),
			"backstage:edge: is not set, and the security layer installs the edge it names: `backstage:edge envoy-gateway` for a new stack"},
		{"keepIngressNginx on ingress-nginx", loadStack(t, "prod").with("keepIngressNginx", "true"),
			"backstage:keepIngressNginx: is set, but backstage:edge is ingress-nginx, so it does nothing"},
		{"ingress-nginx's namespace on Envoy Gateway", envoyGatewayProd(t).with("ingressControllerNamespace", "edge"),
			"backstage:ingressControllerNamespace: is set, but backstage:edge is envoy-gateway, so it does nothing"},
		{"Backstage in Envoy Gateway's namespace", envoyGatewayProd(t).with("namespace", "envoy-gateway-system"),
			"backstage:namespace: is envoy-gateway-system, where the security layer installs Envoy Gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// envoyGatewayProd is the prod stack moved to Envoy Gateway: its ingress-nginx keys,
// which the new edge refuses as doing nothing, gone.
func envoyGatewayProd(t *testing.T) stackConfig {
	return loadStack(t, "prod").with("edge", "envoy-gateway").with("ingressNginxChartVersion", "<unset>").with("ingressAdmissionWebhook", "<unset>")
}

// The move from ingress-nginx (docs/operations.md: Moving the edge): with
// keepIngressNginx both edges answer for the host, Backstage admits both, and the ACME
// challenges stay on ingress-nginx, where DNS still points; each object ingress-nginx
// had keeps its name, so nothing of it is replaced during the move.
func TestKeepIngressNginxRunsBothEdgesDuringTheMove(t *testing.T) {
	before := mustRun(t, loadStack(t, "prod"))
	during := mustRun(t, envoyGatewayProd(t).with("keepIngressNginx", "true").with("ingressAdmissionWebhook", "false"))
	after := mustRun(t, envoyGatewayProd(t))

	assert.Len(t, during.ofType(typeChart), 3, "cert-manager, Envoy Gateway and ingress-nginx")
	for _, old := range before.Registrations() {
		if old.Type == typeIngress || strings.Contains(old.Name, "ingress-nginx") {
			kept := during.byName(t, old.Name)
			assert.Equal(t, old.Inputs, kept.Inputs, "%s is kept as it was", old.Name)
		}
	}
	assert.Len(t, during.ofType(typeIngress), 1)
	during.kube(t, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "backstage")

	from := func(rec *recorder) []string {
		var out []string
		for _, peer := range get(rec.kube(t, typeNetPol, "backstage-ingress").Inputs, "spec", "ingress", "0", "from").ArrayValue() {
			out = append(out, str(peer.ObjectValue(), "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
		}
		return out
	}
	assert.Equal(t, []string{"ingress-nginx"}, from(before))
	assert.Equal(t, []string{"envoy-gateway-system", "ingress-nginx"}, from(during))
	assert.Equal(t, []string{"envoy-gateway-system"}, from(after))

	solver := func(rec *recorder) string {
		issuer := rec.kube(t, typeCustom, "letsencrypt-prod").Inputs
		for kind := range get(issuer, "spec", "acme", "solvers", "0", "http01").ObjectValue() {
			return string(kind)
		}
		return ""
	}
	assert.Equal(t, "ingress", solver(during), "Let's Encrypt follows DNS, still on ingress-nginx")
	assert.Equal(t, "gatewayHTTPRoute", solver(after))
	assert.Empty(t, after.ofType(typeIngress))
}

// Without the security layer an unset edge is an Ingress for the cluster's own
// controller, as before edge was required.
func TestAnUnsetEdgeWithoutTheLayerIsAnIngress(t *testing.T) {
	rec := mustRun(t, loadStack(t, "local").with("edge", "<unset>"))
	assert.Len(t, rec.ofType(typeIngress), 1)
}
