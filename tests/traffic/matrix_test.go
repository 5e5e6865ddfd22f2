package traffic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// The NetworkPolicies of every scenario, judged as traffic by cyclonus's policy engine
// (the model its conformance tests check real CNIs against): what must pass passes and
// what must not is stopped. The objects come from the main module's
// TestRenderedObjectsForTheTrafficMatrix; `make test-traffic` runs both.

type scenario struct {
	Namespaces map[string]map[string]string `json:"namespaces"`
	Policies   []networkingv1.NetworkPolicy `json:"policies"`
	Pods       []struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"pods"`
}

type flow struct {
	from, to string
	port     int
	protocol v1.Protocol
	allowed  bool
	why      string
}

func TestTrafficMatrix(t *testing.T) {
	dir := os.Getenv("TRAFFIC_OBJECTS")
	require.NotEmpty(t, dir, "run `make test-traffic`: it writes the rendered objects and points TRAFFIC_OBJECTS at them")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no scenario in %s", dir)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var s scenario
			require.NoError(t, json.Unmarshal(data, &s))
			checkMatrix(t, name, s)
		})
	}
}

func checkMatrix(t *testing.T, name string, s scenario) {
	var policies []*networkingv1.NetworkPolicy
	for i := range s.Policies {
		policies = append(policies, &s.Policies[i])
	}
	engine := matcher.BuildNetworkPolicies(true, policies)

	peers := map[string]*matcher.TrafficPeer{}
	pod := func(namespace string, labels map[string]string) *matcher.TrafficPeer {
		nsLabels := s.Namespaces[namespace]
		if nsLabels == nil {
			nsLabels = map[string]string{"kubernetes.io/metadata.name": namespace}
		}
		return &matcher.TrafficPeer{Internal: &matcher.InternalPeer{PodLabels: labels, NamespaceLabels: nsLabels, Namespace: namespace}, IP: "10.244.0.99"}
	}
	app := ""
	for _, p := range s.Pods {
		switch p.Labels["component"] {
		case "backend":
			peers["backstage"], app = pod(p.Namespace, p.Labels), p.Namespace
		case "database":
			peers["postgres"] = pod(p.Namespace, p.Labels)
		case "database-client":
			peers["database-client"] = pod(p.Namespace, p.Labels)
		}
	}
	require.NotEmpty(t, app, "the scenario has a Backstage pod")
	// The edge's proxies: the first namespace Backstage admits; during a move to Envoy
	// Gateway, ingress-nginx's as well.
	ingressNamespace, keptNamespace := "ingress-nginx", ""
	for _, pol := range s.Policies {
		if pol.Name == "backstage-ingress" {
			from := pol.Spec.Ingress[0].From
			ingressNamespace = from[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
			if len(from) > 1 {
				keptNamespace = from[1].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
			}
		}
	}
	nginx := map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
	envoy := map[string]string{"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway"}
	if hasPolicy(s, "envoy-data-plane") {
		peers["ingress-controller"] = pod(ingressNamespace, envoy)
		peers["envoy-gateway"] = pod(ingressNamespace, map[string]string{"control-plane": "envoy-gateway"})
	} else {
		peers["ingress-controller"] = pod(ingressNamespace, nginx)
	}
	if keptNamespace != "" {
		peers["kept-ingress-nginx"] = pod(keptNamespace, nginx)
	}
	peers["acme-solver"] = pod(app, map[string]string{"acme.cert-manager.io/http01-solver": "true"})
	peers["other-pod-in-namespace"] = pod(app, map[string]string{"app": "something-else"})
	peers["intruder"] = pod("intruder", map[string]string{"app": "intruder"})
	peers["prometheus"] = pod("monitoring", map[string]string{"app": "prometheus"})
	peers["kube-dns"] = pod("kube-system", map[string]string{"k8s-app": "kube-dns"})
	peers["github.com"] = &matcher.TrafficPeer{IP: "140.82.112.3"}
	peers["private-service"] = &matcher.TrafficPeer{IP: "10.1.2.3"}
	peers["external-database"] = &matcher.TrafficPeer{IP: "10.20.0.5"}
	peers["api-server-on-kind"] = &matcher.TrafficPeer{IP: "172.18.0.2"}
	peers["other-private-service"] = &matcher.TrafficPeer{IP: "10.1.9.9"}
	peers["ldaps"] = &matcher.TrafficPeer{IP: "10.1.3.5"}
	peers["cloud-metadata"] = &matcher.TrafficPeer{IP: "169.254.169.254"}
	peers["redis"] = pod("cache", map[string]string{"app": "redis"})
	peers["other-pod-in-cache"] = pod("cache", map[string]string{"app": "worker"})

	tcp, udp := v1.ProtocolTCP, v1.ProtocolUDP
	flows := []flow{
		{"ingress-controller", "backstage", 7007, tcp, true, "the Ingress reaches Backstage"},
		{"intruder", "backstage", 7007, tcp, false, "other namespaces do not"},
		{"other-pod-in-namespace", "backstage", 7007, tcp, false, "nor other pods beside it"},
		{"ingress-controller", "backstage", 9464, tcp, false, "the Ingress never reaches the metrics port"},
		{"ingress-controller", "acme-solver", 8089, tcp, true, "Let's Encrypt's HTTP-01 challenge reaches cert-manager's solver"},
		{"intruder", "acme-solver", 8089, tcp, false, "only through the ingress controller"},
		{"backstage", "kube-dns", 53, udp, true, "DNS"},
		{"backstage", "github.com", 443, tcp, true, "HTTPS to the internet (GitHub)"},
		{"backstage", "github.com", 22, tcp, false, "and nothing else there"},
		{"backstage", "private-service", 443, tcp, false, "no private range counts as the internet"},
		{"backstage", "intruder", 8080, tcp, false, "no other pod"},
		{"backstage", "cloud-metadata", 80, tcp, name == "egress", "the metadata service only with metadataEgress"},
		{"backstage", "cloud-metadata", 443, tcp, false, "and on port 80 only"},
		{"backstage", "private-service", 8200, tcp, name == "egress", "an egress rule opens its addresses and port"},
		{"backstage", "redis", 6379, tcp, name == "egress", "and a rule by namespace and pods its pods"},
	}
	if name == "egress" {
		flows = append(flows,
			flow{"backstage", "private-service", 8201, tcp, false, "only the rule's port"},
			flow{"backstage", "other-private-service", 8200, tcp, false, "only the rule's addresses"},
			flow{"backstage", "redis", 6380, tcp, false, "only the rule's port on the pods"},
			flow{"backstage", "other-pod-in-cache", 6379, tcp, false, "only the selected pods of the namespace"},
			flow{"backstage", "ldaps", 636, tcp, true, "each port of a rule"},
			flow{"backstage", "ldaps", 8005, tcp, true, "a port range up to its endPort"},
			flow{"backstage", "ldaps", 8011, tcp, false, "and not past it"},
			flow{"backstage", "ldaps", 636, udp, false, "on the rule's protocol"},
			flow{"database-client", "private-service", 8200, tcp, false, "the rules are Backstage's alone"},
			flow{"other-pod-in-namespace", "redis", 6379, tcp, false, "no other pod of the namespace gets them"},
		)
	}
	if _, inCluster := peers["postgres"]; inCluster {
		flows = append(flows,
			flow{"backstage", "postgres", 5432, tcp, true, "Backstage reaches its database"},
			flow{"database-client", "postgres", 5432, tcp, true, "the role Job and the backups reach it"},
			flow{"other-pod-in-namespace", "postgres", 5432, tcp, false, "nothing else in the namespace does"},
			flow{"intruder", "postgres", 5432, tcp, false, "nor any other namespace"},
			flow{"ingress-controller", "postgres", 5432, tcp, false, "nor the edge"},
			flow{"database-client", "github.com", 443, tcp, false, "the database clients reach the database only"},
		)
	}
	if name == "external" {
		flows = append(flows,
			flow{"backstage", "external-database", 6432, tcp, true, "Backstage reaches the managed database"},
			flow{"database-client", "external-database", 6432, tcp, true, "so do the backups"},
			flow{"backstage", "external-database", 22, tcp, false, "on its port only"},
		)
	}
	if name == "settings" {
		flows = append(flows,
			flow{"prometheus", "backstage", 9464, tcp, true, "the scraper namespace reaches the metrics port"},
			flow{"prometheus", "backstage", 7007, tcp, false, "and only that port"},
			flow{"intruder", "backstage", 9464, tcp, false, "no other namespace scrapes"},
		)
	}
	if hasPolicy(s, "envoy-data-plane") {
		flows = append(flows,
			flow{"intruder", "ingress-controller", 10443, tcp, true, "clients reach Envoy's HTTPS listener"},
			flow{"intruder", "ingress-controller", 10080, tcp, true, "and its HTTP listener (the redirect, ACME's challenges)"},
			flow{"intruder", "ingress-controller", 19001, tcp, false, "Envoy's stats port is closed to everyone"},
			flow{"prometheus", "ingress-controller", 19001, tcp, false, "the scraper too, when the stack names none"},
			flow{"ingress-controller", "envoy-gateway", 18000, tcp, true, "Envoy reaches the controller's xDS port"},
			flow{"intruder", "envoy-gateway", 18000, tcp, false, "nothing else does"},
			flow{"backstage", "envoy-gateway", 18000, tcp, false, "not even Backstage"},
			flow{"intruder", "envoy-gateway", 19001, tcp, false, "the controller's metrics port is closed"},
		)
	}
	if keptNamespace != "" {
		flows = append(flows,
			flow{"kept-ingress-nginx", "backstage", 7007, tcp, true, "during the move ingress-nginx still reaches Backstage"},
			flow{"kept-ingress-nginx", "acme-solver", 8089, tcp, true, "and the challenges, which follow DNS"},
			flow{"kept-ingress-nginx", "backstage", 9464, tcp, false, "and never the metrics port"},
		)
	} else if hasPolicy(s, "envoy-data-plane") {
		peers["old-ingress-nginx"] = pod("ingress-nginx", nginx)
		flows = append(flows,
			flow{"old-ingress-nginx", "backstage", 7007, tcp, false, "after the move ingress-nginx's namespace is one like any other"},
			flow{"old-ingress-nginx", "acme-solver", 8089, tcp, false, "and the challenges are Envoy's"},
		)
	}
	// ingress-nginx's own policy: the edge's, or kept beside Envoy Gateway.
	nginxPeer := "ingress-controller"
	if keptNamespace != "" {
		nginxPeer = "kept-ingress-nginx"
	}
	if hasPolicy(s, "ingress-nginx-controller") {
		flows = append(flows,
			flow{"intruder", nginxPeer, 443, tcp, true, "clients reach the controller's HTTPS port"},
			flow{"intruder", nginxPeer, 10254, tcp, false, "its metrics port is closed to everyone else"},
			flow{"prometheus", nginxPeer, 10254, tcp, name == "settings", "and open to the scraper namespace when there is one"},
		)
		flows = append(flows,
			flow{"api-server-on-kind", nginxPeer, 8443, tcp, name == "kind" || name == "settings",
				"the API server calls the admission webhook where its sources are set (elsewhere it is off)"},
			flow{"intruder", nginxPeer, 8443, tcp, false, "no pod reaches the webhook (IngressNightmare's precondition)"},
		)
	}

	for _, f := range flows {
		from, to := peers[f.from], peers[f.to]
		require.NotNil(t, from, f.from)
		require.NotNil(t, to, f.to)
		result := engine.IsTrafficAllowed(&matcher.Traffic{Source: from, Destination: to, ResolvedPort: f.port, Protocol: f.protocol})
		allowed := result.Ingress.IsAllowed() && result.Egress.IsAllowed()
		if allowed != f.allowed {
			t.Errorf("%s -> %s:%d/%s: allowed=%v, want %v (%s)\n%s", f.from, f.to, f.port, f.protocol, allowed, f.allowed, f.why, result.Table())
		}
	}
	t.Logf("%s: %d flows judged", name, len(flows))
}

func hasPolicy(s scenario, name string) bool {
	for _, p := range s.Policies {
		if p.Name == name {
			return true
		}
	}
	return false
}
