package components

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// privateRanges are left out of Backstage's internet egress so that "the internet" never
// includes the cluster's own pod, service and node networks.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"}

// NetworkIsolationArgs configures the app namespace's NetworkPolicies.
type NetworkIsolationArgs struct {
	// Required: the app namespace.
	Namespace pulumi.StringInput
	// Optional: defaults to "ingress-nginx". The one namespace that may reach Backstage.
	IngressControllerNamespace string
	// Optional: defaults to none. Where the Kubernetes API server listens, so that the
	// Backstage Kubernetes plugin can reach it; without them the plugin sees no clusters.
	APIServerCIDRs []string
}

// NetworkIsolation denies all traffic in the namespace, then allows exactly: the ingress
// controller to Backstage, Backstage to PostgreSQL, DNS, and Backstage to HTTPS outside
// the cluster (GitHub) and to the API server.
type NetworkIsolation struct {
	pulumi.ResourceState

	PolicyNames pulumi.StringArrayOutput `pulumi:"policyNames"`
}

// NewNetworkIsolation registers the default-deny policy and its allows.
func NewNetworkIsolation(ctx *pulumi.Context, name string, args *NetworkIsolationArgs, opts ...pulumi.ResourceOption) (*NetworkIsolation, error) {
	if args == nil || args.Namespace == nil {
		return nil, fmt.Errorf("component NetworkIsolation %q: missing required field Namespace", name)
	}
	ingressNamespace := orDefault(args.IngressControllerNamespace, "ingress-nginx")
	comp := &NetworkIsolation{}
	if err := ctx.RegisterComponentResource("backstage:index:NetworkIsolation", name, comp, opts...); err != nil {
		return nil, err
	}

	tcp := func(port int) networkingv1.NetworkPolicyPortArgs {
		return networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
	}
	namespaceNamed := func(ns string) *metav1.LabelSelectorArgs {
		return &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(ns)}}
	}
	pods := func(labels map[string]string) *metav1.LabelSelectorArgs {
		return &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}
	}
	allPods := &metav1.LabelSelectorArgs{}

	backstageEgress := networkingv1.NetworkPolicyEgressRuleArray{
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: pods(PostgresSelector)}},
			Ports: networkingv1.NetworkPolicyPortArray{tcp(PostgresPort)}},
		networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{
			Cidr: pulumi.String("0.0.0.0/0"), Except: pulumi.ToStringArray(privateRanges)}}},
			Ports: networkingv1.NetworkPolicyPortArray{tcp(443)}},
	}
	if len(args.APIServerCIDRs) > 0 {
		var peers networkingv1.NetworkPolicyPeerArray
		for _, cidr := range args.APIServerCIDRs {
			peers = append(peers, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
		}
		backstageEgress = append(backstageEgress, networkingv1.NetworkPolicyEgressRuleArgs{
			To: peers, Ports: networkingv1.NetworkPolicyPortArray{tcp(443), tcp(6443)},
		})
	}

	policies := []struct {
		suffix, name string
		spec         *networkingv1.NetworkPolicySpecArgs
	}{
		{"default-deny", "default-deny", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: allPods,
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
		}},
		{"allow-dns", "allow-dns", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: allPods,
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaceNamed("kube-system")}},
				Ports: networkingv1.NetworkPolicyPortArray{
					networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)}, tcp(53),
				},
			}},
		}},
		{"backstage-ingress", "backstage-ingress", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: pods(BackstageSelector),
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaceNamed(ingressNamespace)}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(BackstagePort)},
			}},
		}},
		{"backstage-egress", "backstage-egress", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: pods(BackstageSelector),
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress:      backstageEgress,
		}},
		{"postgres-ingress", "postgres-ingress", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: pods(PostgresSelector),
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: pods(BackstageSelector)}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(PostgresPort)},
			}},
		}},
	}
	var names pulumi.StringArray
	for _, p := range policies {
		policy, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.suffix, &networkingv1.NetworkPolicyArgs{
			Metadata: objectMeta(p.name, args.Namespace, nil, nil),
			Spec:     p.spec,
		}, pulumi.Parent(comp))
		if err != nil {
			return nil, err
		}
		names = append(names, policy.Metadata.Name().Elem())
	}

	comp.PolicyNames = names.ToStringArrayOutput()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"policyNames": comp.PolicyNames})
}
