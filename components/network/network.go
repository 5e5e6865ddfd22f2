package network

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/netpol"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// privateRanges are left out of Backstage's internet egress so that "the internet" never
// includes the cluster's own pod, service and node networks.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"}

// NetworkIsolationArgs configures the app namespace's NetworkPolicies.
type NetworkIsolationArgs struct {
	// Required: the app namespace.
	Namespace pulumi.StringInput
	// Optional: defaults to DefaultIngressControllerNamespace. The one namespace that may
	// reach Backstage.
	IngressControllerNamespace string
	// Optional: defaults to none. While the edge moves to a Gateway, the ingress
	// controller's namespace that still answers for the host, allowed as well.
	KeptIngressControllerNamespace string
	// Optional: defaults to none. Where the Kubernetes API server listens, so that the
	// Backstage Kubernetes plugin can reach it; without them the plugin sees no clusters.
	APIServerCIDRs []string
	// Optional: defaults to the in-cluster database's pods. With an external database,
	// the addresses it is reached at, on DatabasePort (default PostgresPort).
	DatabaseCIDRs []string
	DatabasePort  int
	// Optional: egress Backstage gets besides the program's (CheckEgressRules).
	EgressRules []EgressRule
	// Optional: defaults to false. Lets Backstage reach the cloud metadata service and
	// EKS Pod Identity's agent on port 80, which GKE Workload Identity and EKS Pod
	// Identity need; IRSA and Azure Workload Identity do not.
	MetadataEgress bool
	// Optional: defaults to no metrics policy. With it, only Metrics.ScraperNamespace
	// may reach Backstage's metrics port.
	Metrics *backstage.Metrics
	// Optional: defaults to none. Where the in-cluster database and its backup pods
	// reach the backups' object store.
	ObjectStore *ObjectStoreEgress
}

// ObjectStoreEgress is where the object store of the database's backups listens.
type ObjectStoreEgress struct {
	// Optional: defaults to every public address: a cloud's S3 has no fixed addresses.
	CIDRs []string
	// Required: the endpoint's port (443 unless it names one).
	Port int
}

// NetworkIsolation denies all traffic in the namespace, then allows exactly: the ingress
// controller to Backstage, Backstage to PostgreSQL, DNS, and Backstage to HTTPS outside
// the cluster (GitHub) and to the API server.
type NetworkIsolation struct {
	pulumi.ResourceState

	PolicyNames pulumi.StringArrayOutput `pulumi:"policyNames"`
}

func (a *NetworkIsolationArgs) withDefaults() (NetworkIsolationArgs, error) {
	if a == nil || a.Namespace == nil {
		return NetworkIsolationArgs{}, errors.New("missing required field Namespace")
	}
	out := *a
	out.IngressControllerNamespace = workload.OrDefault(out.IngressControllerNamespace, edge.DefaultIngressControllerNamespace)
	out.DatabasePort = workload.OrDefault(out.DatabasePort, names.PostgresPort)
	var err error
	if out.Metrics, err = out.Metrics.WithDefaults(); err != nil {
		return NetworkIsolationArgs{}, err
	}
	if out.ObjectStore != nil {
		if err := CheckAddressSet(out.ObjectStore.CIDRs); len(out.ObjectStore.CIDRs) > 0 && err != nil {
			return NetworkIsolationArgs{}, fmt.Errorf("field ObjectStore.CIDRs %w", err)
		}
		if out.ObjectStore.Port < 1 || out.ObjectStore.Port > 65535 {
			return NetworkIsolationArgs{}, fmt.Errorf("field ObjectStore.Port %d is no TCP port", out.ObjectStore.Port)
		}
	}
	if err := errors.Join(CheckEgressRules(out.EgressRules), CheckEgressAvoidsAPIServer(out.EgressRules, out.APIServerCIDRs)); err != nil {
		return NetworkIsolationArgs{}, fmt.Errorf("field EgressRules %w", err)
	}
	return out, nil
}

// NewNetworkIsolation registers the default-deny policy and its allows.
func NewNetworkIsolation(ctx *pulumi.Context, name string, in *NetworkIsolationArgs, opts ...pulumi.ResourceOption) (*NetworkIsolation, error) {
	args, err := in.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("component NetworkIsolation %q: %w", name, err)
	}
	comp := &NetworkIsolation{}
	if err := ctx.RegisterComponentResource("backstage:index:NetworkIsolation", name, comp, opts...); err != nil {
		return nil, err
	}

	var names pulumi.StringArray
	for _, p := range namespacePolicies(args) {
		opts := []pulumi.ResourceOption{pulumi.Parent(comp)}
		if fencesTheDatabase[p.name] {
			// The database is retained on destroy; so is what keeps the namespace's other
			// pods away from it.
			opts = append(opts, pulumi.RetainOnDelete(true))
		}
		policy, err := kube.New(ctx, name+"-"+p.name, func(refs *kube.Refs) any {
			return &networkingv1.NetworkPolicy{
				ObjectMeta: workload.ObjectMeta(refs, p.name, args.Namespace, nil, policyAnnotations[p.name]),
				Spec:       p.spec,
			}
		}, opts...)
		if err != nil {
			return nil, err
		}
		names = append(names, policy.Name())
	}

	comp.PolicyNames = names.ToStringArrayOutput()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"policyNames": comp.PolicyNames})
}

// fencesTheDatabase are the policies a retained database needs after a destroy.
var fencesTheDatabase = map[string]bool{"default-deny": true, "postgres-ingress": true}

// namedPolicy is a NetworkPolicy's name, which is also its Pulumi name's suffix.
type namedPolicy struct {
	name string
	spec networkingv1.NetworkPolicySpec
}

// policyAnnotations: cert-manager starts the solver pods only while a challenge is
// open, so a linter finds no pod for that policy.
var policyAnnotations = map[string]map[string]string{
	"acme-solver-ingress": {
		"kube-score/ignore":        "networkpolicy-targets-pod",
		"kube-score/ignore-reason": "selects cert-manager's HTTP-01 solver pods, which exist only during a challenge",
	},
}

func namespacePolicies(args NetworkIsolationArgs) []namedPolicy {
	allPods := metav1.LabelSelector{}
	policies := []namedPolicy{
		{"default-deny", networkingv1.NetworkPolicySpec{
			PodSelector: allPods,
			PolicyTypes: netpol.PolicyTypes("Ingress", "Egress"),
		}},
		{"allow-dns", networkingv1.NetworkPolicySpec{
			PodSelector: allPods,
			PolicyTypes: netpol.PolicyTypes("Egress"),
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    netpol.Peers(netpol.NamespaceNamed("kube-system")),
				Ports: netpol.Ports(netpol.UDP(53), netpol.TCP(53)),
			}},
		}},
		{"backstage-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(names.BackstageSelector),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  edgePeers(args),
				Ports: netpol.Ports(netpol.TCP(names.BackstagePort)),
			}},
		}},
		{"backstage-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(names.BackstageSelector),
			PolicyTypes: netpol.PolicyTypes("Egress"),
			Egress:      backstageEgress(args),
		}},
		// cert-manager answers Let's Encrypt's HTTP-01 challenges from solver pods it starts
		// here; the ingress controller must reach them, or no certificate is issued.
		{"acme-solver-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(map[string]string{"acme.cert-manager.io/http01-solver": "true"}),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  edgePeers(args),
				Ports: netpol.Ports(netpol.TCP(8089)),
			}},
		}},
		// The program's database Jobs (role changes, backups) reach PostgreSQL and nothing else.
		{"database-client-egress", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(names.DatabaseClientSelector),
			PolicyTypes: netpol.PolicyTypes("Egress"),
			Egress:      []networkingv1.NetworkPolicyEgressRule{databaseEgress(args)},
		}},
	}
	if len(args.DatabaseCIDRs) == 0 {
		policies = append(policies, namedPolicy{"postgres-ingress", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(names.PostgresSelector),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  netpol.Peers(netpol.PodsLabelled(names.BackstageSelector), netpol.PodsLabelled(names.DatabaseClientSelector)),
				Ports: netpol.Ports(netpol.TCP(names.PostgresPort)),
			}},
		}})
	}
	if args.ObjectStore != nil {
		// pgBackRest in the server (each WAL segment) and in the backup Jobs (base
		// backups, restores) reaches the bucket's endpoint and nothing else outside.
		to := publicAddresses()
		if len(args.ObjectStore.CIDRs) > 0 {
			to = netpol.CIDRPeers(args.ObjectStore.CIDRs)
		}
		policies = append(policies, namedPolicy{"object-store-egress", networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn,
				Values: []string{names.PostgresSelector["app"], names.DatabaseClientSelector["app"]},
			}}},
			PolicyTypes: netpol.PolicyTypes("Egress"),
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: to, Ports: netpol.Ports(netpol.TCP(args.ObjectStore.Port))}},
		}})
	}
	if args.Metrics != nil {
		policies = append(policies, namedPolicy{"backstage-metrics", networkingv1.NetworkPolicySpec{
			PodSelector: *workload.LabelSelector(names.BackstageSelector),
			PolicyTypes: netpol.PolicyTypes("Ingress"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  netpol.Peers(netpol.NamespaceNamed(args.Metrics.ScraperNamespace)),
				Ports: netpol.Ports(netpol.TCP(args.Metrics.Port)),
			}},
		}})
	}
	return policies
}

// databaseEgress reaches the in-cluster database's pods, or exactly the external
// database's addresses on its port.
func databaseEgress(args NetworkIsolationArgs) networkingv1.NetworkPolicyEgressRule {
	if len(args.DatabaseCIDRs) > 0 {
		return networkingv1.NetworkPolicyEgressRule{To: netpol.CIDRPeers(args.DatabaseCIDRs), Ports: netpol.Ports(netpol.TCP(args.DatabasePort))}
	}
	return networkingv1.NetworkPolicyEgressRule{To: netpol.Peers(netpol.PodsLabelled(names.PostgresSelector)), Ports: netpol.Ports(netpol.TCP(names.PostgresPort))}
}

// backstageEgress lets Backstage reach its database, HTTPS outside the cluster and, when
// its addresses are known, the API server.
func backstageEgress(args NetworkIsolationArgs) []networkingv1.NetworkPolicyEgressRule {
	apiServerCIDRs := args.APIServerCIDRs
	rules := []networkingv1.NetworkPolicyEgressRule{
		databaseEgress(args),
		{To: publicAddresses(), Ports: netpol.Ports(netpol.TCP(443))},
	}
	if len(apiServerCIDRs) > 0 {
		rules = append(rules, networkingv1.NetworkPolicyEgressRule{To: netpol.CIDRPeers(apiServerCIDRs), Ports: netpol.Ports(netpol.TCP(443), netpol.TCP(6443))})
	}
	if args.MetadataEgress {
		rules = append(rules, networkingv1.NetworkPolicyEgressRule{To: netpol.CIDRPeers(MetadataCIDRs), Ports: netpol.Ports(netpol.TCP(80))})
	}
	return append(rules, egressRules(args.EgressRules)...)
}

// publicAddresses are every IPv4 address outside the private ranges.
func publicAddresses() []networkingv1.NetworkPolicyPeer {
	return netpol.Peers(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: privateRanges}})
}

// edgePeers are the namespaces whose proxies reach Backstage: the edge's, and during a
// move the ingress controller's that still answers.
func edgePeers(args NetworkIsolationArgs) []networkingv1.NetworkPolicyPeer {
	peers := netpol.Peers(netpol.NamespaceNamed(args.IngressControllerNamespace))
	if kept := args.KeptIngressControllerNamespace; kept != "" && kept != args.IngressControllerNamespace {
		peers = append(peers, netpol.NamespaceNamed(kept))
	}
	return peers
}
