package edge

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/netpol"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// The maintained edge: Envoy Gateway, a Gateway API implementation from the Envoy
// project (docs/decisions/0015-envoy-gateway-edge.md). The layer installs its chart,
// a GatewayClass whose EnvoyProxy sets the data plane's shape, and one Gateway with an
// HTTP and an HTTPS listener for the stack's host; Backstage's HTTPRoute attaches to
// the HTTPS listener. The policy ingress-nginx held in its ConfigMap is here in Gateway
// API objects the API server validates: TLS 1.2 and 1.3 only (ClientTrafficPolicy),
// the redirect to HTTPS (an HTTPRoute on the HTTP listener), HSTS (Backstage's route),
// per-client rate limits (BackendTrafficPolicy), client addresses kept
// (externalTrafficPolicy Local).

const (
	// EnvoyGatewayNamespace holds the controller and, by default, the Envoy data plane.
	EnvoyGatewayNamespace = "envoy-gateway-system"
	// GatewayName is the Gateway the layer makes; Backstage's HTTPRoute attaches to it.
	GatewayName = "backstage"
	// GatewayHTTPSListener and GatewayHTTPListener are its listeners' names.
	GatewayHTTPSListener = "https"
	GatewayHTTPListener  = "http"
	// GatewayClassName is the layer's class, served by its controller.
	GatewayClassName = "backstage-envoy"

	envoyGatewayRelease    = "envoy-gateway"
	envoyGatewayRepo       = "oci://docker.io/envoyproxy"
	envoyGatewayChart      = "gateway-helm"
	envoyGatewayController = "gateway.envoyproxy.io/gatewayclass-controller"
	gatewayTLSSecret       = "backstage-gateway-tls"
	// The Envoy pods' listener ports: Envoy Gateway shifts ports under 1024 by 10000.
	envoyHTTPPort, envoyHTTPSPort = 10080, 10443
	envoyStatsPort                = 19001
	// The controller's xDS, rate limit and Wasm ports, which only Envoy calls, and its
	// metrics port.
	controllerXDSPort, controllerRateLimitPort, controllerWasmPort, controllerMetricsPort = 18000, 18001, 18002, 19001
)

// envoySelector matches the Envoy data plane's pods (Envoy Gateway's EnvoyAppLabel).
var envoySelector = map[string]string{
	"app.kubernetes.io/name":       "envoy",
	"app.kubernetes.io/component":  "proxy",
	"app.kubernetes.io/managed-by": "envoy-gateway",
}

// envoyGatewayControllerSelector matches the chart's controller pods.
var envoyGatewayControllerSelector = map[string]string{"control-plane": "envoy-gateway"}

// envoyGatewayImage is the controller's image at the chart's version: a chart from its
// repository fills it in, one built from its source carries a placeholder.
func envoyGatewayImage(version string) string { return "docker.io/envoyproxy/gateway:" + version }

func envoyGatewayValues(args SecurityLayerArgs) pulumi.Map {
	values := pulumi.Map{
		"global": pulumi.Map{"images": pulumi.Map{"envoyGateway": pulumi.Map{
			"image": pulumi.String(envoyGatewayImage(args.EnvoyGatewayChartVersion)), "pullPolicy": pulumi.String("IfNotPresent"),
		}}},
		// The zone-aware routing webhook is installed by a Helm hook, which a Chart does
		// not run; it is off, and certgen below is told so.
		"topologyInjector": pulumi.Map{"enabled": pulumi.Bool(false)},
		// The Gateway API bundle's safe-upgrades admission policy is rendered only while
		// it is absent or labelled as Helm's (a lookup in the template): under a Chart,
		// which does not label it so, every other up would delete and the next create it.
		"crds": pulumi.Map{"gatewayAPI": pulumi.Map{"safeUpgradePolicy": pulumi.Map{"enabled": pulumi.Bool(false)}}},
	}
	if args.HighAvailability {
		values["deployment"] = pulumi.Map{"replicas": pulumi.Int(2)}
		values["podDisruptionBudget"] = pulumi.Map{"minAvailable": pulumi.Int(1)}
	}
	return values
}

// certgenKinds are certgen's objects, in the order they are registered.
var certgenKinds = []string{"serviceaccount", "role", "rolebinding", "job"}

// certgenObject is the chart's certgen Job or one of its RBAC objects, which the chart
// installs as Helm hooks (a Chart drops them): the Job writes the Secrets the
// controller and Envoy authenticate xDS with.
func certgenObject(refs *kube.Refs, namespace pulumi.StringInput, image, kind string) any {
	const name = envoyGatewayRelease + "-certgen"
	meta := workload.ObjectMeta(refs, name, namespace, nil, nil)
	switch kind {
	case "serviceaccount":
		return &corev1.ServiceAccount{ObjectMeta: meta}
	case "role":
		return &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update"}},
		}}
	case "rolebinding":
		return &rbacv1.RoleBinding{ObjectMeta: meta,
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: meta.Namespace}},
		}
	}
	return &batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{
		BackoffLimit: ptr.To[int32](1),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "certgen"}},
			Spec: corev1.PodSpec{
				ServiceAccountName: name,
				RestartPolicy:      corev1.RestartPolicyNever,
				SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{
					Name: "envoy-gateway-certgen", Image: image,
					Command: []string{"envoy-gateway", "certgen"}, Args: []string{"--disable-topology-injector"},
					Env: []corev1.EnvVar{
						{Name: "ENVOY_GATEWAY_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
						{Name: "KUBERNETES_CLUSTER_DOMAIN", Value: "cluster.local"},
					},
					SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534),
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					},
					Resources: workload.ContainerResources{CPU: "50m", Memory: "64Mi", Ephemeral: "16Mi", CPULimit: "500m", MemoryLimit: "64Mi", EphemeralLimit: "16Mi"}.Requirements(),
				}},
			},
		},
	}}
}

// envoyProxy shapes the data plane: its Service keeps client addresses (so per-client
// limits count clients, not nodes), its pods run under Pod Security restricted, and in
// production there are two behind a disruption budget.
func envoyProxy(namespace pulumi.StringInput, refs *kube.Refs, highAvailability bool) *kube.Custom {
	deployment := map[string]any{
		"pod": map[string]any{"securityContext": map[string]any{
			"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"},
		}},
		"container": map[string]any{"securityContext": map[string]any{
			"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}},
		}},
	}
	kubernetes := map[string]any{
		"envoyService":    map[string]any{"externalTrafficPolicy": "Local"},
		"envoyDeployment": deployment,
	}
	if highAvailability {
		deployment["replicas"] = 2
		kubernetes["envoyPDB"] = map[string]any{"minAvailable": 1}
	}
	return &kube.Custom{
		APIVersion: "gateway.envoyproxy.io/v1alpha1", Kind: "EnvoyProxy",
		Metadata: workload.ObjectMeta(refs, GatewayClassName, namespace, nil, nil),
		Spec:     map[string]any{"provider": map[string]any{"type": "Kubernetes", "kubernetes": kubernetes}},
	}
}

func gatewayClass(refs *kube.Refs, namespace pulumi.StringInput) *kube.Custom {
	return &kube.Custom{
		APIVersion: "gateway.networking.k8s.io/v1", Kind: "GatewayClass",
		Metadata: metav1.ObjectMeta{Name: GatewayClassName},
		Spec: map[string]any{
			"controllerName": envoyGatewayController,
			"parametersRef": map[string]any{
				"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": GatewayClassName, "namespace": refs.String(namespace),
			},
		},
	}
}

// gateway has the stack's host on an HTTP listener (the redirect and ACME's HTTP-01
// challenges, both routes of its own namespace) and an HTTPS one (Backstage's route,
// from the app's namespace only), whose certificate cert-manager issues.
func gateway(refs *kube.Refs, namespace pulumi.StringInput, args SecurityLayerArgs) *kube.Custom {
	var annotations map[string]string
	if args.GatewayIssuer != "" {
		annotations = map[string]string{"cert-manager.io/cluster-issuer": string(args.GatewayIssuer)}
	}
	return &kube.Custom{
		APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway",
		Metadata: workload.ObjectMeta(refs, GatewayName, namespace, nil, annotations),
		Spec: map[string]any{
			"gatewayClassName": GatewayClassName,
			"listeners": []any{
				map[string]any{
					"name": GatewayHTTPListener, "protocol": "HTTP", "port": 80, "hostname": args.Host,
					"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "Same"}},
				},
				map[string]any{
					"name": GatewayHTTPSListener, "protocol": "HTTPS", "port": 443, "hostname": args.Host,
					"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"kind": "Secret", "name": gatewayTLSSecret}}},
					"allowedRoutes": map[string]any{"namespaces": map[string]any{
						"from":     "Selector",
						"selector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": args.RouteNamespace}},
					}},
				},
			},
		},
	}
}

// gatewayParent is a parentRef to a listener of the layer's Gateway; namespace is its
// namespace as a string or a reference minted for the object.
func gatewayParent(namespace any, section string) map[string]any {
	return map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GatewayName, "namespace": namespace, "sectionName": section}
}

// redirectRoute answers every plain-HTTP request with a permanent redirect to HTTPS;
// cert-manager's challenge routes, more specific, win over it.
func redirectRoute(refs *kube.Refs, namespace pulumi.StringInput, host string) *kube.Custom {
	return &kube.Custom{
		APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute",
		Metadata: workload.ObjectMeta(refs, GatewayName+"-https-redirect", namespace, nil, nil),
		Spec: map[string]any{
			"parentRefs": []any{gatewayParent(refs.String(namespace), GatewayHTTPListener)},
			"hostnames":  []any{host},
			"rules": []any{map[string]any{"filters": []any{map[string]any{
				"type":            "RequestRedirect",
				"requestRedirect": map[string]any{"scheme": "https", "statusCode": 301},
			}}}},
		},
	}
}

// tlsPolicy holds the Gateway's listeners to TLS 1.2 and 1.3.
func tlsPolicy(refs *kube.Refs, namespace pulumi.StringInput) *kube.Custom {
	return &kube.Custom{
		APIVersion: "gateway.envoyproxy.io/v1alpha1", Kind: "ClientTrafficPolicy",
		Metadata: workload.ObjectMeta(refs, GatewayName+"-tls", namespace, nil, nil),
		Spec: map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GatewayName}},
			"tls":        map[string]any{"minVersion": "1.2", "maxVersion": "1.3"},
		},
	}
}

// The controller's and the data plane's policies close their ports to all but their
// callers: clients reach Envoy's listeners; only Envoy reaches the controller's xDS,
// rate limit and Wasm ports; only the scraper namespace, when there is one, the
// metrics ports. Envoy's admin port listens on localhost only.

func envoyGatewayControllerNetworkPolicy(namespace pulumi.StringInput, refs *kube.Refs, scraperNamespace string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: workload.ObjectMeta(refs, envoyGatewayControllerPolicy, namespace, nil, chartPodsIgnore),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(envoyGatewayControllerSelector),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: append([]networkingv1.NetworkPolicyIngressRule{{
				From:  netpol.Peers(netpol.PodsLabelled(envoySelector)),
				Ports: netpol.Ports(netpol.TCP(controllerXDSPort), netpol.TCP(controllerRateLimitPort), netpol.TCP(controllerWasmPort)),
			}}, scrapeRule(scraperNamespace, controllerMetricsPort)...),
		},
	}
}

func envoyDataPlaneNetworkPolicy(namespace pulumi.StringInput, refs *kube.Refs, scraperNamespace string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: workload.ObjectMeta(refs, envoyDataPlanePolicy, namespace, nil, chartPodsIgnore),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(envoySelector),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: append([]networkingv1.NetworkPolicyIngressRule{
				{Ports: netpol.Ports(netpol.TCP(envoyHTTPPort), netpol.TCP(envoyHTTPSPort))},
			}, scrapeRule(scraperNamespace, envoyStatsPort)...),
		},
	}
}

// scrapeRule opens a metrics port to the scraper namespace; none without one.
func scrapeRule(scraperNamespace string, port int) []networkingv1.NetworkPolicyIngressRule {
	if scraperNamespace == "" {
		return nil
	}
	return []networkingv1.NetworkPolicyIngressRule{{From: netpol.Peers(netpol.NamespaceNamed(scraperNamespace)), Ports: netpol.Ports(netpol.TCP(port))}}
}

// chartPodsIgnore tells kube-score that the policies select pods no manifest of the
// stack holds.
var chartPodsIgnore = map[string]string{"kube-score/ignore": "networkpolicy-targets-pod", "kube-score/ignore-reason": "selects pods that Envoy Gateway's chart or controller makes"}

// The two policies of the Envoy Gateway namespace.
const (
	envoyGatewayControllerPolicy = "envoy-gateway-controller"
	envoyDataPlanePolicy         = "envoy-data-plane"
)
