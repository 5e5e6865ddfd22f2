package edge

import (
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/namespace"
	"github.com/arhean/backstage-pulumi/components/netpol"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// selfSignedCASecretName holds the CA that the self-signed-ca issuer signs with.
const selfSignedCASecretName = "backstage-ca"

// Controller is the edge the layer installs in front of Backstage.
type Controller string

const (
	// ControllerIngressNginx is the seed's edge: ingress-nginx, retired upstream.
	ControllerIngressNginx Controller = "ingress-nginx"
	// ControllerEnvoyGateway is Envoy Gateway with a Gateway for the stack's host.
	ControllerEnvoyGateway Controller = "envoy-gateway"
)

// SecurityLayerArgs configures the ingress controller, cert-manager and the issuers.
type SecurityLayerArgs struct {
	// Optional: defaults to ControllerIngressNginx.
	Controller Controller
	// Required with ControllerEnvoyGateway: the host the Gateway's listeners serve and
	// the namespace whose routes its HTTPS listener admits.
	Host, RouteNamespace string
	// Optional: the ClusterIssuer of the Gateway's certificate; none for plain HTTP.
	GatewayIssuer Issuer
	// Optional: defaults to false. With ControllerEnvoyGateway, ingress-nginx as well,
	// while DNS moves from it to the Gateway: it keeps answering for the host, and the
	// ACME HTTP-01 challenges, which follow DNS, stay on it.
	KeepIngressNginx bool
	// Optional: defaults to pins.EnvoyGatewayChartVersion.
	EnvoyGatewayChartVersion string
	// Optional: a local Envoy Gateway chart, as CertManagerChartPath.
	EnvoyGatewayChartPath string
	// Optional: defaults to DefaultIngressNginxChartVersion, the final ingress-nginx chart.
	IngressNginxChartVersion string
	// Optional: defaults to DefaultCertManagerChartVersion.
	CertManagerChartVersion string
	// Optional: defaults to each chart's public repository. One mirror for every chart:
	// an OCI registry (oci://host/path, from which the chart is <path>/<chart>) or a
	// Helm repository (https://).
	ChartRepository string
	// Optional: a local cert-manager chart (a directory or .tgz) instead of a
	// repository; its own version is installed.
	CertManagerChartPath string
	// Optional: a local ingress-nginx chart, as CertManagerChartPath.
	IngressNginxChartPath string
	// Optional: defaults to DefaultIngressControllerNamespace.
	IngressControllerNamespace string
	// Optional: defaults to DefaultIngressClassName. The IngressClass the controller serves.
	IngressClassName string
	// Optional: defaults to false. Binds the controller to ports 80 and 443 of the Kind
	// node labelled ingress-ready=true, as Kind's ingress guide describes.
	KindCluster bool
	// Optional: defaults to no Let's Encrypt issuers. With an address, creates the
	// letsencrypt-staging and letsencrypt-prod ClusterIssuers (ACME HTTP-01 via nginx).
	ACMEEmail string
	// Optional: defaults to false. Creates a CA with pulumi-tls and the self-signed-ca
	// ClusterIssuer that signs with it, for clusters no public CA can reach.
	SelfSignedCA bool
	// Optional: defaults to true. Runs ingress-nginx's admission webhook, which checks
	// every Ingress before nginx loads it.
	AdmissionWebhook *bool
	// Optional: defaults to none, and then the webhook's port is closed to every
	// source. Where the API server calls the webhook from; a webhook open to every pod
	// is IngressNightmare's precondition (CVE-2025-1974), and one closed to the API
	// server refuses every Ingress.
	WebhookSourceCIDRs []string
	// Optional: defaults to none. The namespace allowed to scrape the controller's
	// metrics port; without it the port is closed.
	MetricsScraperNamespace string
	// Optional: defaults to false. Two replicas of each controller, with disruption
	// budgets and spread over nodes: with externalTrafficPolicy Local a node without a
	// controller pod drops its traffic, and a single webhook pod blocks every change.
	HighAvailability bool
}

// SecurityLayer is the edge (Envoy Gateway with its Gateway, or ingress-nginx; both
// during a move) and cert-manager from pinned charts, with TLS 1.2/1.3 only, HSTS,
// HTTP-to-HTTPS redirects and per-client rate limits, plus the issuers.
type SecurityLayer struct {
	pulumi.ResourceState

	IngressClassName pulumi.StringOutput      `pulumi:"ingressClassName"`
	Issuers          pulumi.StringArrayOutput `pulumi:"issuers"`
	// CACertificate is the self-signed CA's certificate (PEM), for users to trust.
	CACertificate pulumi.StringOutput `pulumi:"caCertificate"`

	// Ready are what a dependent waits for: both charts and the issuers. (The Go SDK
	// expands a dependency on a component to the children registered so far, which
	// races with the children's own registration; these are the resources themselves.)
	Ready []pulumi.Resource
}

func (a *SecurityLayerArgs) withDefaults() SecurityLayerArgs {
	out := SecurityLayerArgs{}
	if a != nil {
		out = *a
	}
	out.IngressNginxChartVersion = workload.OrDefault(out.IngressNginxChartVersion, pins.IngressNginxChartVersion)
	out.CertManagerChartVersion = workload.OrDefault(out.CertManagerChartVersion, pins.CertManagerChartVersion)
	out.IngressControllerNamespace = workload.OrDefault(out.IngressControllerNamespace, DefaultIngressControllerNamespace)
	out.IngressClassName = workload.OrDefault(out.IngressClassName, names.DefaultIngressClassName)
	out.Controller = workload.OrDefault(out.Controller, ControllerIngressNginx)
	out.EnvoyGatewayChartVersion = workload.OrDefault(out.EnvoyGatewayChartVersion, pins.EnvoyGatewayChartVersion)
	return out
}

// NewSecurityLayer registers the charts in namespaces of their own and the issuers,
// which wait for cert-manager's webhook through explicit dependencies.
func NewSecurityLayer(ctx *pulumi.Context, name string, in *SecurityLayerArgs, opts ...pulumi.ResourceOption) (*SecurityLayer, error) {
	args := in.withDefaults()
	comp := &SecurityLayer{}
	if err := ctx.RegisterComponentResource("backstage:index:SecurityLayer", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	certNS, err := kube.New(ctx, name+"-cert-manager-namespace", func(refs *kube.Refs) any { return namespace.Labelled("cert-manager", "restricted") }, child)
	if err != nil {
		return nil, err
	}

	// cert-manager first: it issues the ingress-nginx webhook's certificate, and the
	// issuers need its webhook answering.
	certManager, err := CertManagerChart(ctx, name+"-cert-manager",
		chartSource("cert-manager", certManagerRepo, args.CertManagerChartVersion, args.ChartRepository, args.CertManagerChartPath),
		certNS.Name(), args.HighAvailability, args.Controller == ControllerEnvoyGateway, child)
	if err != nil {
		return nil, err
	}
	afterCertManager := pulumi.DependsOn([]pulumi.Resource{certManager})
	comp.Ready = []pulumi.Resource{certManager}
	switch args.Controller {
	case ControllerEnvoyGateway:
		ready, err := registerEnvoyGateway(ctx, name, args, child, afterCertManager)
		if err != nil {
			return nil, err
		}
		comp.Ready = append(comp.Ready, ready...)
		if args.KeepIngressNginx {
			ingressNginx, err := registerIngressNginx(ctx, name, args, child, afterCertManager)
			if err != nil {
				return nil, err
			}
			comp.Ready = append(comp.Ready, ingressNginx)
		}
	default:
		ingressNginx, err := registerIngressNginx(ctx, name, args, child, afterCertManager)
		if err != nil {
			return nil, err
		}
		comp.Ready = append(comp.Ready, ingressNginx)
	}

	var issuers pulumi.StringArray
	if args.ACMEEmail != "" {
		for _, issuer := range []Issuer{IssuerLetsEncryptStaging, IssuerLetsEncryptProd} {
			acme, err := clusterIssuer(ctx, name+"-"+string(issuer), issuer, acmeIssuerSpec(issuer, args), child, afterCertManager)
			if err != nil {
				return nil, err
			}
			comp.Ready = append(comp.Ready, acme)
			issuers = append(issuers, pulumi.String(string(issuer)))
		}
	}

	comp.CACertificate = pulumi.String("").ToStringOutput()
	if args.SelfSignedCA {
		caCert, err := selfSignedCA(ctx, name, certNS, child)
		if err != nil {
			return nil, err
		}
		ca, err := clusterIssuer(ctx, name+"-"+string(IssuerSelfSignedCA), IssuerSelfSignedCA, map[string]any{
			"ca": map[string]any{"secretName": selfSignedCASecretName},
		}, child, afterCertManager)
		if err != nil {
			return nil, err
		}
		comp.Ready = append(comp.Ready, ca)
		issuers = append(issuers, pulumi.String(string(IssuerSelfSignedCA)))
		comp.CACertificate = caCert
	}

	comp.IngressClassName = pulumi.String(args.IngressClassName).ToStringOutput()
	comp.Issuers = issuers.ToStringArrayOutput()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"ingressClassName": comp.IngressClassName,
		"issuers":          comp.Issuers,
		"caCertificate":    comp.CACertificate,
	})
}

// registerIngressNginx registers the seed's edge: the controller's namespace, chart
// and the policy around its webhook and metrics ports.
func registerIngressNginx(ctx *pulumi.Context, name string, args SecurityLayerArgs, child, afterCertManager pulumi.ResourceOption) (pulumi.Resource, error) {
	// hostPorts break Pod Security "baseline", so the Kind controller namespace can only
	// be privileged; everywhere else the charts' pods run under "restricted".
	ingressLevel := "restricted"
	if args.KindCluster {
		ingressLevel = "privileged"
	}
	ingressNS, err := kube.New(ctx, name+"-ingress-nginx-namespace", func(refs *kube.Refs) any { return namespace.Labelled(args.IngressControllerNamespace, ingressLevel) }, child)
	if err != nil {
		return nil, err
	}
	ingressNginx, err := IngressNginxChart(ctx, name+"-ingress-nginx",
		chartSource("ingress-nginx", ingressNginxRepo, args.IngressNginxChartVersion, args.ChartRepository, args.IngressNginxChartPath),
		ingressNS.Name(), args, child, afterCertManager)
	if err != nil {
		return nil, err
	}
	if _, err := kube.New(ctx, name+"-ingress-nginx-webhook-policy", func(refs *kube.Refs) any {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: workload.ObjectMeta(refs, "ingress-nginx-controller", ingressNS.Name(), nil, map[string]string{
				// The chart's controller pods are not among the objects a linter sees.
				"kube-score/ignore":        "networkpolicy-targets-pod",
				"kube-score/ignore-reason": "selects the ingress-nginx chart's controller pods",
			}),
			Spec: controllerPolicy(args.WebhookSourceCIDRs, args.MetricsScraperNamespace),
		}
	}, child); err != nil {
		return nil, err
	}
	return ingressNginx, nil
}

// registerEnvoyGateway registers the maintained edge (envoy_gateway.go): the
// controller's namespace, certgen, chart and policies, the GatewayClass and its
// EnvoyProxy, the Gateway, its redirect route and its TLS policy. It returns what
// Backstage's route waits for.
func registerEnvoyGateway(ctx *pulumi.Context, name string, args SecurityLayerArgs, child, afterCertManager pulumi.ResourceOption) ([]pulumi.Resource, error) {
	ns, err := kube.New(ctx, name+"-envoy-gateway-namespace", func(refs *kube.Refs) any { return namespace.Labelled(EnvoyGatewayNamespace, "restricted") }, child)
	if err != nil {
		return nil, err
	}
	var certgen []pulumi.Resource
	for _, kind := range certgenKinds {
		object, err := kube.New(ctx, name+"-envoy-gateway-certgen-"+kind, func(refs *kube.Refs) any {
			return certgenObject(refs, ns.Name(), envoyGatewayImage(args.EnvoyGatewayChartVersion), kind)
		}, child, pulumi.DependsOn(certgen))
		if err != nil {
			return nil, err
		}
		certgen = append(certgen, object)
	}
	chart, err := newChart(ctx, name+"-envoy-gateway", envoyGatewayRelease,
		chartSource(envoyGatewayChart, envoyGatewayRepo, args.EnvoyGatewayChartVersion, args.ChartRepository, args.EnvoyGatewayChartPath),
		ns.Name(), envoyGatewayValues(args), nil, child, pulumi.DependsOn(certgen))
	if err != nil {
		return nil, err
	}
	for _, policy := range []struct {
		name  string
		build func(pulumi.StringInput, *kube.Refs, string) *networkingv1.NetworkPolicy
	}{{envoyGatewayControllerPolicy, envoyGatewayControllerNetworkPolicy}, {envoyDataPlanePolicy, envoyDataPlaneNetworkPolicy}} {
		if _, err := kube.New(ctx, name+"-"+policy.name+"-policy", func(refs *kube.Refs) any {
			return policy.build(ns.Name(), refs, args.MetricsScraperNamespace)
		}, child); err != nil {
			return nil, err
		}
	}
	afterChart := pulumi.DependsOn([]pulumi.Resource{chart})
	proxy, err := kube.New(ctx, name+"-envoy-proxy", func(refs *kube.Refs) any { return envoyProxy(ns.Name(), refs, args.HighAvailability) }, child, afterChart)
	if err != nil {
		return nil, err
	}
	class, err := kube.New(ctx, name+"-gateway-class", func(refs *kube.Refs) any { return gatewayClass(refs, ns.Name()) }, child, afterChart, pulumi.DependsOn([]pulumi.Resource{proxy}))
	if err != nil {
		return nil, err
	}
	// The Gateway's certificate comes from cert-manager's Gateway API support.
	gw, err := kube.New(ctx, name+"-gateway", func(refs *kube.Refs) any { return gateway(refs, ns.Name(), args) }, child,
		afterCertManager, pulumi.DependsOn([]pulumi.Resource{class}))
	if err != nil {
		return nil, err
	}
	afterGateway := pulumi.DependsOn([]pulumi.Resource{gw})
	redirect, err := kube.New(ctx, name+"-gateway-redirect", func(refs *kube.Refs) any { return redirectRoute(refs, ns.Name(), args.Host) }, child, afterGateway)
	if err != nil {
		return nil, err
	}
	tls, err := kube.New(ctx, name+"-gateway-tls-policy", func(refs *kube.Refs) any { return tlsPolicy(refs, ns.Name()) }, child, afterGateway)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{chart, gw, redirect, tls}, nil
}

// selfSignedCA makes a CA key and certificate with pulumi-tls and stores them in the
// Secret the CA issuer signs with. The key lives in state as a secret and in the Secret.
func selfSignedCA(ctx *pulumi.Context, name string, certNS *kube.Object, child pulumi.ResourceOption) (pulumi.StringOutput, error) {
	key, err := tls.NewPrivateKey(ctx, name+"-ca-key", &tls.PrivateKeyArgs{
		Algorithm:  pulumi.String("ECDSA"),
		EcdsaCurve: pulumi.String("P256"),
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	cert, err := tls.NewSelfSignedCert(ctx, name+"-ca-cert", &tls.SelfSignedCertArgs{
		PrivateKeyPem:       key.PrivateKeyPem,
		IsCaCertificate:     pulumi.Bool(true),
		ValidityPeriodHours: pulumi.Int(5 * 365 * 24),
		EarlyRenewalHours:   pulumi.Int(30 * 24),
		AllowedUses:         pulumi.ToStringArray([]string{"cert_signing", "crl_signing", "digital_signature"}),
		Subject: &tls.SelfSignedCertSubjectArgs{
			CommonName:   pulumi.String("Backstage development CA"),
			Organization: pulumi.String("Backstage platform"),
		},
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := kube.New(ctx, name+"-ca-secret", func(refs *kube.Refs) any {
		return &corev1.Secret{
			ObjectMeta: workload.ObjectMeta(refs, selfSignedCASecretName, certNS.Name(), nil, nil),
			Type:       corev1.SecretTypeTLS,
			StringData: map[string]string{
				corev1.TLSCertKey:       refs.String(cert.CertPem),
				corev1.TLSPrivateKeyKey: refs.String(key.PrivateKeyPem),
			},
		}
	}, child); err != nil {
		return pulumi.StringOutput{}, err
	}
	return cert.CertPem, nil
}

func clusterIssuer(ctx *pulumi.Context, resourceName string, issuer Issuer, spec map[string]any, opts ...pulumi.ResourceOption) (*kube.Object, error) {
	return kube.New(ctx, resourceName, func(refs *kube.Refs) any {
		return &kube.Custom{
			APIVersion: "cert-manager.io/v1",
			Kind:       "ClusterIssuer",
			Metadata:   metav1.ObjectMeta{Name: string(issuer)},
			Spec:       spec,
		}
	}, opts...)
}

// acmeIssuerSpec is a Let's Encrypt issuer that answers HTTP-01 challenges through the
// controller's IngressClass.
func acmeIssuerSpec(issuer Issuer, args SecurityLayerArgs) map[string]any {
	return map[string]any{
		"acme": map[string]any{
			"email":               args.ACMEEmail,
			"server":              acmeDirectories[issuer],
			"privateKeySecretRef": map[string]any{"name": string(issuer) + "-account-key"},
			"solvers":             []any{map[string]any{"http01": acmeSolver(args)}},
		},
	}
}

// acmeSolver answers HTTP-01 challenges through the edge the layer runs: an Ingress
// of the controller's class, or an HTTPRoute on the Gateway's HTTP listener. Let's
// Encrypt reaches whatever DNS names, so while ingress-nginx is kept during a move the
// challenges stay on it, the Gateway's certificate included.
func acmeSolver(args SecurityLayerArgs) map[string]any {
	if args.Controller == ControllerEnvoyGateway && !args.KeepIngressNginx {
		return map[string]any{"gatewayHTTPRoute": map[string]any{"parentRefs": []any{gatewayParent(EnvoyGatewayNamespace, GatewayHTTPListener)}}}
	}
	return map[string]any{"ingress": map[string]any{"ingressClassName": args.IngressClassName}}
}

func ingressNginxValues(args SecurityLayerArgs) pulumi.Map {
	controller := pulumi.Map{
		"ingressClass": pulumi.String(args.IngressClassName),
		"ingressClassResource": pulumi.Map{
			"name":    pulumi.String(args.IngressClassName),
			"default": pulumi.Bool(false),
		},
		// Snippets let any Ingress author inject nginx configuration (CVE-2021-25742 and
		// the 2025 IngressNightmare family); nothing here needs them.
		"allowSnippetAnnotations": pulumi.Bool(false),
		"config": pulumi.StringMap{
			"ssl-protocols":           pulumi.String("TLSv1.2 TLSv1.3"),
			"hsts":                    pulumi.String("true"),
			"hsts-max-age":            pulumi.String("31536000"),
			"hsts-include-subdomains": pulumi.String("true"),
			"ssl-redirect":            pulumi.String("true"),
			"server-tokens":           pulumi.String("false"),
			"limit-req-status-code":   pulumi.String("429"),
			"limit-conn-status-code":  pulumi.String("429"),
			"annotations-risk-level":  pulumi.String("High"),
		},
		"admissionWebhooks": pulumi.Map{
			"enabled":     pulumi.Bool(workload.BoolOr(args.AdmissionWebhook, true)),
			"certManager": pulumi.Map{"enabled": pulumi.Bool(workload.BoolOr(args.AdmissionWebhook, true))},
		},
		"metrics": pulumi.Map{"enabled": pulumi.Bool(true)},
		"resources": pulumi.Map{
			"requests": pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("128Mi")},
			"limits":   pulumi.StringMap{"memory": pulumi.String("512Mi")},
		},
	}
	// Keep the client's address, so that rate limits count clients rather than nodes.
	controller["service"] = pulumi.Map{"externalTrafficPolicy": pulumi.String("Local")}
	if args.HighAvailability {
		controller["replicaCount"] = pulumi.Int(2)
		controller["minAvailable"] = pulumi.Int(1) // the chart's budget, made when replicas > 1
		controller["topologySpreadConstraints"] = pulumi.Array{pulumi.Map{
			"maxSkew":           pulumi.Int(1),
			"topologyKey":       pulumi.String("kubernetes.io/hostname"),
			"whenUnsatisfiable": pulumi.String("ScheduleAnyway"),
			"labelSelector":     pulumi.Map{"matchLabels": pulumi.ToStringMap(ingressNginxControllerSelector)},
		}}
	}
	if args.KindCluster {
		controller["hostPort"] = pulumi.Map{"enabled": pulumi.Bool(true)}
		controller["nodeSelector"] = pulumi.StringMap{"ingress-ready": pulumi.String("true"), "kubernetes.io/os": pulumi.String("linux")}
		controller["tolerations"] = pulumi.Array{
			pulumi.Map{"key": pulumi.String("node-role.kubernetes.io/control-plane"), "operator": pulumi.String("Equal"), "effect": pulumi.String("NoSchedule")},
		}
		controller["service"] = pulumi.Map{"type": pulumi.String("NodePort")}
		controller["publishService"] = pulumi.Map{"enabled": pulumi.Bool(false)}
		controller["extraArgs"] = pulumi.StringMap{"publish-status-address": pulumi.String("localhost")}
		controller["watchIngressWithoutClass"] = pulumi.Bool(true)
	}
	return pulumi.Map{"controller": controller}
}

// controllerPolicy lets clients reach the controller's HTTP and HTTPS ports, only the
// given sources (the API server) reach its admission webhook (nothing, when there are
// none), and only the scraper namespace, when there is one, its metrics port; nothing
// else reaches 8443 or 10254.
func controllerPolicy(webhookSources []string, scraperNamespace string) networkingv1.NetworkPolicySpec {
	rules := []networkingv1.NetworkPolicyIngressRule{
		{Ports: netpol.Ports(netpol.TCP(80), netpol.TCP(443))},
	}
	if len(webhookSources) > 0 {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{From: netpol.CIDRPeers(webhookSources), Ports: netpol.Ports(netpol.TCP(8443))})
	}
	if scraperNamespace != "" {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{
			From: netpol.Peers(netpol.NamespaceNamed(scraperNamespace)), Ports: netpol.Ports(netpol.TCP(ingressNginxMetricsPort)),
		})
	}
	return networkingv1.NetworkPolicySpec{
		PodSelector: *workload.LabelSelector(ingressNginxControllerSelector),
		PolicyTypes: netpol.PolicyTypes("Ingress"),
		Ingress:     rules,
	}
}

const ingressNginxMetricsPort = 10254

// ingressNginxControllerSelector matches the chart's controller pods.
var ingressNginxControllerSelector = map[string]string{
	"app.kubernetes.io/name":      "ingress-nginx",
	"app.kubernetes.io/component": "controller",
}
