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
			"parentRefs": []any{map[string]any{
				"group":     "gateway.networking.k8s.io",
				"kind":      "Gateway",
				"namespace": spec.Gateway.Namespace,
				"name":      spec.Gateway.Name,
			}},
			"hostnames": []string{spec.Host},
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
