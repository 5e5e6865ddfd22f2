package config

import (
	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/pins"
)

// How traffic reaches Backstage: the Ingress through the ingress-nginx the security
// layer installs (the seed's design), or an HTTPRoute on an existing Gateway API
// Gateway. These follow keys_database.go's in the table.

// Edges.
const (
	EdgeIngressNginx = "ingress-nginx"
	EdgeGateway      = "gateway"
	EdgeEnvoyGateway = "envoy-gateway"
)

var KeyEdge = &Key[string]{
	Setting: Setting{Name: "edge", Example: EdgeEnvoyGateway,
		Description: "envoy-gateway (the security layer installs Envoy Gateway and a Gateway for the host; Backstage gets an HTTPRoute), ingress-nginx (an Ingress; the layer installs the controller, retired upstream) or gateway (an HTTPRoute on the Gateway named by gatewayRef, whose owner holds TLS, redirects and rate limits). Required with the security layer, so that no stack changes edge by an upgrade of this program; without the layer, an Ingress for the cluster's own controller."},
	Into:  func(s *Stack) *string { return &s.Edge },
	Check: oneOf("", EdgeIngressNginx, EdgeGateway, EdgeEnvoyGateway),
}

var KeyKeepIngressNginx = &Key[bool]{
	Setting: Setting{Name: "keepIngressNginx", Example: "true",
		Description: "With edge: envoy-gateway, keep ingress-nginx and Backstage's Ingress running beside the Gateway (and the ACME challenges on ingress-nginx) while DNS moves to the Gateway's address; remove once the old address is idle (docs/operations.md: Moving the edge)."},
	Into: func(s *Stack) *bool { return &s.Security.KeepIngressNginx },
}

var KeyEnvoyGatewayChartVersion = &Key[string]{
	Setting: Setting{Name: "envoyGatewayChartVersion", Pinned: true, Example: pins.EnvoyGatewayChartVersion,
		Description: "The Envoy Gateway chart version (gateway-helm), which is also its controller's image tag; with edge: envoy-gateway."},
	Default: pins.EnvoyGatewayChartVersion,
	Into:    func(s *Stack) *string { return &s.Security.EnvoyGatewayChartVersion },
	Check:   chartVersionAtLeast(edge.MinEnvoyGatewayChartVersion),
}

var KeyEnvoyGatewayChartPath = &Key[string]{
	Setting: Setting{Name: "envoyGatewayChartPath", Example: "vendor/charts/gateway-helm",
		Description: "A local Envoy Gateway chart (a directory or .tgz, relative to Pulumi.yaml) instead of its registry; its own version is installed."},
	Into: func(s *Stack) *string { return &s.Security.EnvoyGatewayChartPath },
}

var KeyGatewayRef = &Key[string]{
	Setting: Setting{Name: "gatewayRef", Example: "gateway-system/shared",
		Description: "The Gateway (namespace/name) the HTTPRoute attaches to with edge: gateway; its listeners must admit routes from the namespace."},
	Into: func(s *Stack) *string { return &s.GatewayRef },
	Check: func(v string) error {
		if v == "" {
			return nil
		}
		_, err := backstage.ParseGatewayRef(v)
		return err
	},
}

// checkEdgeRules ties the Gateway edge to an existing Gateway: the stack installs no
// Gateway implementation, so the security layer is off, and the data plane's
// namespace is the one allowed to reach Backstage unless set otherwise.
func checkEdgeRules(s *Stack, refused keySet) (out []finding) {
	if s.Edge == "" && s.InstallSecurityLayer && !refused[KeyEdge.Name] {
		out = append(out, problem(KeyEdge.Name, "is not set, and the security layer installs the edge it names: `%s %s` for a new stack (Envoy Gateway, maintained); "+
			"a stack deployed before edge was required runs ingress-nginx: `%s %s` keeps it, and docs/operations.md (Moving the edge) moves it without downtime",
			KeyEdge.FullName(), EdgeEnvoyGateway, KeyEdge.FullName(), EdgeIngressNginx))
	}
	if s.Edge == EdgeEnvoyGateway {
		if s.GatewayRef != "" {
			out = append(out, problem(KeyGatewayRef.Name, "is set but %s is %s, whose Gateway the security layer makes (%s/%s); remove it, or set `%s %s` to attach to yours",
				KeyEdge.Name, s.Edge, edge.EnvoyGatewayNamespace, edge.GatewayName, KeyEdge.FullName(), EdgeGateway))
		}
		if !s.InstallSecurityLayer {
			out = append(out, problem(KeyEdge.Name, "is envoy-gateway, which the security layer installs, but %s is false; set it true, or `%s %s` with your own Gateway",
				KeyInstallSecurityLayer.Name, KeyEdge.FullName(), EdgeGateway))
		}
		return out
	}
	if s.Edge != EdgeGateway {
		if s.GatewayRef != "" {
			out = append(out, problem(KeyGatewayRef.Name, "is set but %s is %s; set `%s %s` to use it", KeyEdge.Name, s.Edge, KeyEdge.FullName(), EdgeGateway))
		}
		return
	}
	if s.GatewayRef == "" {
		out = append(out, problem(KeyGatewayRef.Name, "is required with edge: gateway: the Gateway the HTTPRoute attaches to; `pulumi config set %s %s`",
			KeyGatewayRef.FullName(), KeyGatewayRef.Example))
		return
	}
	if s.InstallSecurityLayer {
		out = append(out, problem(KeyEdge.Name, "is gateway (a Gateway someone else runs), but %s is true, and the layer installs an edge of its own; "+
			"set `%s false` and name your Gateway with %s, or `%s %s` for the layer's Gateway", KeyInstallSecurityLayer.Name, KeyInstallSecurityLayer.FullName(), KeyGatewayRef.Name,
			KeyEdge.FullName(), EdgeEnvoyGateway))
		return
	}
	return out
}

// gateway is the Gateway the HTTPRoute attaches to; nil on the ingress-nginx edge.
func (s *Stack) gateway() *backstage.GatewayRef {
	if s.Edge == EdgeEnvoyGateway {
		return &backstage.GatewayRef{Namespace: edge.EnvoyGatewayNamespace, Name: edge.GatewayName, Section: edge.GatewayHTTPSListener, EnvoyGateway: true}
	}
	if s.Edge != EdgeGateway {
		return nil
	}
	gateway, err := backstage.ParseGatewayRef(s.GatewayRef)
	if err != nil {
		return nil // the key's own check refuses it
	}
	return &gateway
}

// ingressControllerNamespace is the namespace of the proxies that reach Backstage:
// Envoy Gateway's own; on the Gateway edge, the Gateway's unless the stack names its
// data plane's. Pulumi.yaml's
// default reads as set, so the default stands for "not chosen": the ingress-nginx
// namespace has nothing to do with a Gateway.
func (s *Stack) ingressControllerNamespace() string {
	if s.Edge == EdgeEnvoyGateway {
		return edge.EnvoyGatewayNamespace
	}
	if gateway := s.gateway(); gateway != nil && s.Security.IngressControllerNamespace == edge.DefaultIngressControllerNamespace {
		return gateway.Namespace
	}
	return s.Security.IngressControllerNamespace
}

// keptIngressNginx is the ingress-nginx namespace that still answers for the host
// while the edge moves to Envoy Gateway; empty otherwise.
func (s *Stack) keptIngressNginx() string {
	if s.Edge == EdgeEnvoyGateway && s.Security.KeepIngressNginx {
		return s.Security.IngressControllerNamespace
	}
	return ""
}

// runsIngressNginx: the security layer installs ingress-nginx, as the edge or kept
// beside Envoy Gateway during a move.
func (s *Stack) runsIngressNginx() bool {
	return s.InstallSecurityLayer && (s.Edge != EdgeEnvoyGateway || s.Security.KeepIngressNginx)
}
