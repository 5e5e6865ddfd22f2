package backstage

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// The Gateway API edge: an HTTPRoute attached to a Gateway its owner runs (a platform
// team's shared Gateway, a cloud's managed one), instead of an Ingress through the
// retired ingress-nginx. The Gateway's owner holds its listeners: TLS certificates,
// the HTTP-to-HTTPS redirect, rate limits and which namespaces may attach routes.

// GatewayRef names an existing Gateway.
type GatewayRef struct {
	Namespace, Name string
	// Optional: the listener the route attaches to; every listener that admits it when
	// empty.
	Section string
	// Optional: the Gateway is Envoy Gateway's (the security layer's): the route gets
	// its per-client rate limit as a BackendTrafficPolicy.
	EnvoyGateway bool
}

func (g GatewayRef) String() string { return g.Namespace + "/" + g.Name }

// ParseGatewayRef reads "namespace/name".
func ParseGatewayRef(s string) (GatewayRef, error) {
	namespace, name, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(name, "/") {
		return GatewayRef{}, fmt.Errorf("%q is not namespace/name, e.g. gateway-system/shared", s)
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return GatewayRef{}, fmt.Errorf("%q: the namespace %q is not a namespace name", s, namespace)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return GatewayRef{}, fmt.Errorf("%q: the name %q is not a Gateway name", s, name)
	}
	return GatewayRef{Namespace: namespace, Name: name}, nil
}

// hstsHeader is what ingress-nginx's hsts settings send, set by the route instead.
const hstsHeader = "max-age=31536000; includeSubDomains"

// backstageRoute sends every path of the host to the Backstage Service, and tells
// browsers to keep to HTTPS.
func backstageRoute(refs *kube.Refs, spec backstageSpec, serviceName pulumi.StringInput) *kube.Custom {
	return &kube.Custom{
		APIVersion: "gateway.networking.k8s.io/v1",
		Kind:       "HTTPRoute",
		Metadata:   workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector, nil),
		Spec: map[string]any{
			"parentRefs": []any{parentRef(*spec.Gateway)},
			"hostnames":  []string{spec.Host},
			"rules": []any{map[string]any{
				"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
				"filters": []any{map[string]any{
					"type": "ResponseHeaderModifier",
					"responseHeaderModifier": map[string]any{"set": []any{map[string]any{
						"name": "Strict-Transport-Security", "value": hstsHeader,
					}}},
				}},
				"backendRefs": []any{map[string]any{"name": refs.String(serviceName), "port": 80}},
			}},
		},
	}
}

func parentRef(g GatewayRef) map[string]any {
	ref := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": g.Namespace, "name": g.Name}
	if g.Section != "" {
		ref["sectionName"] = g.Section
	}
	return ref
}

// rateLimitPolicy limits each client address, IPv4 or IPv6, on the route, as the
// Ingress's annotations do on ingress-nginx. The limits are Local: each Envoy replica
// counts on its own, so with two replicas a client gets up to twice the rate.
func rateLimitPolicy(refs *kube.Refs, spec backstageSpec) *kube.Custom {
	var rules []any
	for _, cidr := range []string{"0.0.0.0/0", "::/0"} {
		rules = append(rules, map[string]any{
			"clientSelectors": []any{map[string]any{"sourceCIDR": map[string]any{"type": "Distinct", "value": cidr}}},
			"limit":           map[string]any{"requests": spec.RateLimitRPS, "unit": "Second"},
		})
	}
	return &kube.Custom{
		APIVersion: "gateway.envoyproxy.io/v1alpha1", Kind: "BackendTrafficPolicy",
		Metadata: workload.ObjectMeta(refs, names.BackstageName+"-rate-limit", spec.Namespace, names.BackstageSelector, nil),
		Spec: map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": names.BackstageName}},
			"rateLimit":  map[string]any{"type": "Local", "local": map[string]any{"rules": rules}},
		},
	}
}
