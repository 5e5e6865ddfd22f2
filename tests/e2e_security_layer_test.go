//go:build e2e

package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const edgeNamespace = "backstage-edge"

// The layer's cluster-wide leftovers: the CRDs it retains on purpose, and the charts'
// cluster-scoped objects, which a reset removes so that each run starts clean.
var edgeCRDs = []string{
	"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io", "gatewayclasses.gateway.networking.k8s.io",
	"envoyproxies.gateway.envoyproxy.io", "clienttrafficpolicies.gateway.envoyproxy.io", "backendtrafficpolicies.gateway.envoyproxy.io",
	"certificates.cert-manager.io", "clusterissuers.cert-manager.io",
}

func resetEdge(t testing.TB) {
	t.Helper()
	resetNamespaceNamed(t, edgeNamespace)
	_, _ = kubectl(t, "delete", "gatewayclass", "backstage-envoy", "--ignore-not-found", "--wait=false")
	for _, ns := range []string{"envoy-gateway-system", "cert-manager"} {
		_, _ = kubectl(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
	}
	for _, instance := range []string{"envoy-gateway", "cert-manager"} {
		_, _ = kubectl(t, "delete", "clusterrole,clusterrolebinding,validatingwebhookconfiguration,mutatingwebhookconfiguration,validatingadmissionpolicy,validatingadmissionpolicybinding",
			"-l", "app.kubernetes.io/instance="+instance, "--ignore-not-found")
	}
	_, _ = kubectl(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", "safe-upgrades.gateway.networking.k8s.io", "--ignore-not-found")
	out, _ := kubectl(t, "get", "crd", "-o", "name")
	for _, crd := range strings.Fields(out) {
		if strings.Contains(crd, "gateway.networking.k8s.io") || strings.Contains(crd, "gateway.envoyproxy.io") || strings.Contains(crd, "cert-manager.io") {
			_, _ = kubectl(t, "delete", crd, "--ignore-not-found")
		}
	}
}

// The whole security layer installed for real on the local control plane under the
// real engine, from charts unpacked from their Go modules by hack/charts.sh (as `make up
// STACK=local-edge` does), and a stack moved from ingress-nginx to Envoy Gateway as
// docs/operations.md says: first ingress-nginx (kindCluster: its host ports on a node
// labelled ingress-ready, since kwok gives no LoadBalancer Service an address), then
// both with keepIngressNginx (nothing replaced or deleted), then Envoy Gateway alone
// (ingress-nginx and the Ingress deleted). The CRDs, webhooks and controllers are
// registered, and the Gateway, the routes and Envoy Gateway's policies accepted by the
// API server's validation of those CRDs; a second up changes nothing; destroy keeps the
// CRDs (deleting one deletes every object of its kind in the cluster).
func TestE2ETheSecurityLayerInstallsAndMovesToEnvoyGatewayOnTheLocalControlPlane(t *testing.T) {
	requireControlPlane(t)
	resetEdge(t)
	node := ingressReadyNode(t)
	t.Cleanup(func() {
		resetEdge(t)
		_, _ = kubectl(t, "label", "node", node, "ingress-ready-")
	})
	charts := t.TempDir()
	out, err := exec.Command(filepath.Join(repoRoot, "hack", "charts.sh"), charts).CombinedOutput()
	require.NoError(t, err, string(out))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s := stackFrom(t, "local-edge", "local-edge-e2e")
	set := func(values map[string]string) {
		t.Helper()
		for key, value := range values {
			if value == "" {
				require.NoError(t, s.RemoveConfig(ctx, "backstage:"+key))
				continue
			}
			require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
		}
	}
	step := inOrder(t)

	step("ingress-nginx, as stacks before the maintained edge run it", func(t *testing.T) {
		set(map[string]string{
			"edge": "ingress-nginx", "envoyGatewayChartPath": "",
			"certManagerChartPath":  filepath.Join(charts, "cert-manager"),
			"ingressNginxChartPath": filepath.Join(charts, "ingress-nginx"),
			// cert-manager issues the webhook's certificate, and no cert-manager runs here.
			"ingressAdmissionWebhook": "false", "kindCluster": "true",
		})
		require.NoError(t, cliUp(ctx, s))
		_, err := kubectl(t, "get", "deployment", "-n", "ingress-nginx", "-l", "app.kubernetes.io/component=controller", "-o", "name")
		require.NoError(t, err)
		ingress := objectIn(t, "ingress", "backstage", edgeNamespace)
		assert.Equal(t, "nginx", fieldString(ingress, "spec", "ingressClassName"))
	})

	var ingressUID string
	step("both edges while DNS moves: nothing replaced or deleted", func(t *testing.T) {
		ingressUID = fieldString(objectIn(t, "ingress", "backstage", edgeNamespace), "metadata", "uid")
		set(map[string]string{"edge": "envoy-gateway", "keepIngressNginx": "true", "envoyGatewayChartPath": filepath.Join(charts, "envoy-gateway")})
		preview, err := s.Preview(ctx)
		require.NoError(t, err)
		for _, op := range []apitype.OpType{apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDelete, apitype.OpDeleteReplaced} {
			assert.Zero(t, preview.ChangeSummary[op], "%s in %v\n%s", op, preview.ChangeSummary, preview.StdOut)
		}
		require.NoError(t, cliUp(ctx, s))
		assert.Equal(t, ingressUID, fieldString(objectIn(t, "ingress", "backstage", edgeNamespace), "metadata", "uid"), "the Ingress answers throughout")
		assertEnvoyGatewayInstalled(t)
		policy := objectIn(t, "networkpolicy", "backstage-ingress", edgeNamespace)
		assert.Equal(t, "envoy-gateway-system", fieldString(policy, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
		assert.Equal(t, "ingress-nginx", fieldString(policy, "spec", "ingress", "0", "from", "1", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
	})

	step("Envoy Gateway alone once DNS has moved", func(t *testing.T) {
		set(map[string]string{"keepIngressNginx": "", "ingressNginxChartPath": "", "ingressAdmissionWebhook": "", "kindCluster": ""})
		require.NoError(t, cliUp(ctx, s))
		_, err := kubectl(t, "get", "ingress", "backstage", "-n", edgeNamespace)
		assert.Error(t, err, "the Ingress is gone")
		names, _ := kubectl(t, "get", "deployment", "-n", "ingress-nginx", "-o", "name")
		assert.Empty(t, strings.TrimSpace(names), "ingress-nginx is gone")
		assertEnvoyGatewayInstalled(t)
		_, err = s.Preview(ctx, optpreview.ExpectNoChanges())
		require.NoError(t, err, "a second up is a no-op")
	})

	step("destroy keeps the CRDs", func(t *testing.T) {
		_, err := s.Destroy(ctx)
		require.NoError(t, err)
		for _, crd := range edgeCRDs {
			_, err := kubectl(t, "get", "crd", crd)
			assert.NoError(t, err, "%s outlives destroy", crd)
		}
	})
}

// assertEnvoyGatewayInstalled: the CRDs and controllers registered, and Backstage's
// Gateway, routes and policies held by the API server as the program made them.
func assertEnvoyGatewayInstalled(t *testing.T) {
	t.Helper()
	for _, crd := range edgeCRDs {
		_, err := kubectl(t, "get", "crd", crd)
		assert.NoError(t, err, "%s registered", crd)
	}
	for _, ref := range [][3]string{
		{"deployment", "envoy-gateway", "envoy-gateway-system"}, {"job", "envoy-gateway-certgen", "envoy-gateway-system"},
		{"deployment", "cert-manager-webhook", "cert-manager"}, {"validatingwebhookconfiguration", "cert-manager-webhook", ""},
	} {
		_, err := kubectl(t, "get", ref[0], ref[1], "-n", orDefault(ref[2], "default"))
		assert.NoError(t, err, "%s %s", ref[0], ref[1])
	}
	gateway := objectIn(t, "gateway.gateway.networking.k8s.io", "backstage", "envoy-gateway-system")
	assert.Equal(t, "backstage-envoy", fieldString(gateway, "spec", "gatewayClassName"))
	assert.Equal(t, "https", fieldString(gateway, "spec", "listeners", "1", "name"))
	route := objectIn(t, "httproute.gateway.networking.k8s.io", "backstage", edgeNamespace)
	assert.Equal(t, "https", fieldString(route, "spec", "parentRefs", "0", "sectionName"))
	limit := objectIn(t, "backendtrafficpolicy.gateway.envoyproxy.io", "backstage-rate-limit", edgeNamespace)
	assert.Equal(t, "Distinct", fieldString(limit, "spec", "rateLimit", "local", "rules", "0", "clientSelectors", "0", "sourceCIDR", "type"))
	tls := objectIn(t, "clienttrafficpolicy.gateway.envoyproxy.io", "backstage-tls", "envoy-gateway-system")
	assert.Equal(t, "1.2", fieldString(tls, "spec", "tls", "minVersion"))
	proxy := objectIn(t, "envoyproxy.gateway.envoyproxy.io", "backstage-envoy", "envoy-gateway-system")
	assert.Equal(t, "Local", fieldString(proxy, "spec", "provider", "kubernetes", "envoyService", "externalTrafficPolicy"))
}

// ingressReadyNode labels one kwok node ingress-ready, where kindCluster's controller
// runs (on Kind, kind/cluster.yaml labels the node).
func ingressReadyNode(t *testing.T) string {
	t.Helper()
	out, err := kubectl(t, "get", "nodes", "-l", "type=kwok", "-o", "jsonpath={.items[0].metadata.name}")
	require.NoError(t, err)
	require.NotEmpty(t, out, "a kwok node")
	_, err = kubectl(t, "label", "node", out, "ingress-ready=true", "--overwrite")
	require.NoError(t, err)
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
