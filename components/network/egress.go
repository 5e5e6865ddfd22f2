package network

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/netpol"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// EgressRule is egress Backstage gets besides the program's: to addresses, or to pods
// of a namespace, on the ports named, in NetworkPolicy's own shapes.
type EgressRule struct {
	// CIDRs, or Namespace and PodSelector (PodSelector alone: Backstage's namespace).
	CIDRs       []string              `json:"cidrs,omitempty"`
	Namespace   string                `json:"namespace,omitempty"`
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
	// Ports are required: a rule without them would open every port.
	Ports []networkingv1.NetworkPolicyPort `json:"ports"`
	// Reason acknowledges a wide rule (WideEgress) in production.
	Reason string `json:"reason,omitempty"`
}

// Addresses a pod must reach only through the key meant for them.
var (
	// metadataAddresses answer for the node's cloud identity: AWS's and GCP's metadata
	// service, EKS Pod Identity's agent. A pod that reaches them can take the node's
	// credentials; MetadataEgress opens them for workload identity that needs them.
	metadataAddresses = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("169.254.170.23"),
		netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("fd00:ec2::23"),
	}
	// MetadataCIDRs are metadataAddresses as the rule MetadataEgress adds.
	MetadataCIDRs = []string{"169.254.169.254/32", "169.254.170.23/32"}
)

// Bounds on how wide a rule may be: wider needs a Reason in production, and a port
// range wider than MaxPortRange is refused everywhere.
const (
	wideIPv4Prefix = 16
	wideIPv6Prefix = 48
	widePortRange  = 100
	MaxPortRange   = 1024
)

// CheckEgressRules refuses rules NetworkPolicy would refuse or that open more than a
// rule can mean: no ports, an address space covered whole (a /0, or CIDRs whose union
// covers it), the cloud metadata addresses, or a port range wider than MaxPortRange.
func CheckEgressRules(rules []EgressRule) error {
	for i, r := range rules {
		if err := checkEgressRule(r); err != nil {
			return fmt.Errorf("[%d] %w", i, err)
		}
	}
	return nil
}

func checkEgressRule(r EgressRule) error {
	byPods := r.Namespace != "" || r.PodSelector != nil
	switch {
	case len(r.CIDRs) > 0 && byPods:
		return errors.New("names both cidrs and namespace/podSelector; write a rule for each")
	case len(r.CIDRs) == 0 && !byPods:
		return errors.New("names no destination; set cidrs, or namespace and podSelector")
	case len(r.Ports) == 0:
		return errors.New("has no ports, which would open every port; list them, e.g. [{port: 443}]")
	}
	if r.Namespace != "" {
		if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace %q is not a namespace name (%s)", r.Namespace, errs[0])
		}
	}
	if r.PodSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(r.PodSelector); err != nil {
			return fmt.Errorf("podSelector: %v", err)
		}
		if err := workload.CheckLabels(r.PodSelector.MatchLabels); err != nil {
			return fmt.Errorf("podSelector: %w", err)
		}
	}
	prefixes, err := parseCIDRs(r.CIDRs)
	if err != nil {
		return err
	}
	if err := checkAddressSet(prefixes); err != nil {
		if errors.Is(err, errMetadata) {
			return fmt.Errorf("%w; narrow the CIDR, or set backstage:metadataEgress for workload identity that needs it", err)
		}
		return fmt.Errorf("%w; name the addresses Backstage needs", err)
	}
	for _, p := range r.Ports {
		if err := checkPort(p, byPods); err != nil {
			return err
		}
	}
	return nil
}

func checkPort(p networkingv1.NetworkPolicyPort, byPods bool) error {
	if p.Protocol != nil && !slices.Contains([]string{"TCP", "UDP", "SCTP"}, string(*p.Protocol)) {
		return fmt.Errorf("port protocol %q is not TCP, UDP or SCTP", *p.Protocol)
	}
	if p.Port == nil {
		return errors.New("has a port entry without port, which would open every port of its protocol; set it")
	}
	if p.Port.Type == intstr.String {
		if !byPods {
			return fmt.Errorf("port %q is a name, which only a pod's ports have; use its number with cidrs", p.Port.StrVal)
		}
		if errs := validation.IsValidPortName(p.Port.StrVal); len(errs) > 0 {
			return fmt.Errorf("port %q is not a port name (%s)", p.Port.StrVal, errs[0])
		}
		if p.EndPort != nil {
			return fmt.Errorf("port %q is a name, which cannot start a range with endPort", p.Port.StrVal)
		}
		return nil
	}
	port := int(p.Port.IntVal)
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not from 1 to 65535", port)
	}
	if p.EndPort != nil {
		end := int(*p.EndPort)
		switch {
		case end < port || end > 65535:
			return fmt.Errorf("endPort %d is not from port %d to 65535", end, port)
		case end-port+1 > MaxPortRange:
			return fmt.Errorf("ports %d-%d span %d ports; a range may span at most %d, so name the ports the service uses", port, end, end-port+1, MaxPortRange)
		}
	}
	return nil
}

// WideEgress says why a rule is wide, or "": a CIDR wider than a /16 (IPv6: /48), a
// whole namespace, or a port range over a hundred ports. Production asks a Reason of it.
func WideEgress(r EgressRule) string {
	prefixes, _ := parseCIDRs(r.CIDRs)
	for _, p := range prefixes {
		if (p.Addr().Is4() && p.Bits() < wideIPv4Prefix) || (p.Addr().Is6() && p.Bits() < wideIPv6Prefix) {
			return fmt.Sprintf("%s is wider than a /%d", p, wideIPv4Prefix)
		}
	}
	everyPod := r.PodSelector == nil || (len(r.PodSelector.MatchLabels) == 0 && len(r.PodSelector.MatchExpressions) == 0)
	if len(r.CIDRs) == 0 && everyPod {
		namespace := r.Namespace
		if namespace == "" {
			namespace = "Backstage's own"
		}
		return fmt.Sprintf("reaches every pod of namespace %s", namespace)
	}
	for _, p := range r.Ports {
		if p.Port != nil && p.EndPort != nil && int(*p.EndPort)-int(p.Port.IntVal)+1 > widePortRange {
			return fmt.Sprintf("opens ports %d-%d", p.Port.IntVal, *p.EndPort)
		}
	}
	return ""
}

// CheckEgressAvoidsAPIServer refuses a rule whose CIDRs overlap the API server's: the
// Kubernetes plugin's way there is the stack's API server setting, which the docs and the security
// review read.
func CheckEgressAvoidsAPIServer(rules []EgressRule, apiServerCIDRs []string) error {
	apiServer, err := parseCIDRs(apiServerCIDRs)
	if err != nil {
		return nil // its own key refuses it
	}
	for i, r := range rules {
		prefixes, _ := parseCIDRs(r.CIDRs)
		for _, p := range prefixes {
			for _, a := range apiServer {
				if p.Overlaps(a) {
					return fmt.Errorf("[%d] %s overlaps the API server's %s, which has a setting of its own; leave it to that setting", i, p, a)
				}
			}
		}
	}
	return nil
}

// parseCIDRs reads CIDRs as NetworkPolicy does, refusing a host address with a prefix
// (10.0.0.1/8), which the API server refuses too.
func parseCIDRs(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (e.g. 10.20.0.0/16)", c)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("%q has host bits set; write %s", c, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// coversAll says whether the prefixes of one family cover its whole address space.
func coversAll(prefixes []netip.Prefix, ipv4 bool) bool {
	var family []netip.Prefix
	for _, p := range prefixes {
		if p.Addr().Is4() == ipv4 {
			family = append(family, p)
		}
	}
	if len(family) == 0 {
		return false
	}
	slices.SortFunc(family, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	first := netip.IPv6Unspecified()
	if ipv4 {
		first = netip.IPv4Unspecified()
	}
	if family[0].Addr() != first {
		return false
	}
	// next is the first address not yet covered; the space is covered when no
	// address is left.
	next := first
	for _, p := range family {
		if p.Addr().Compare(next) > 0 {
			return false
		}
		last := lastAddr(p)
		if !last.IsValid() || !last.Next().IsValid() {
			return true
		}
		if last.Next().Compare(next) > 0 {
			next = last.Next()
		}
	}
	return false
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// egressRules are the stack's rules as NetworkPolicy egress rules.
func egressRules(rules []EgressRule) []networkingv1.NetworkPolicyEgressRule {
	var out []networkingv1.NetworkPolicyEgressRule
	for _, r := range rules {
		rule := networkingv1.NetworkPolicyEgressRule{Ports: r.Ports}
		if len(r.CIDRs) > 0 {
			rule.To = netpol.CIDRPeers(r.CIDRs)
		} else {
			peer := networkingv1.NetworkPolicyPeer{PodSelector: r.PodSelector}
			if peer.PodSelector == nil {
				peer.PodSelector = &metav1.LabelSelector{}
			}
			if r.Namespace != "" {
				peer.NamespaceSelector = netpol.NamespaceNamed(r.Namespace).NamespaceSelector
			}
			rule.To = []networkingv1.NetworkPolicyPeer{peer}
		}
		out = append(out, rule)
	}
	return out
}

var errMetadata = errors.New("the cloud metadata service, whose credentials are the node's")

// CheckAddressSet refuses CIDRs no NetworkPolicy peer should name: ones whose union
// covers an address family (a /0 is one), the cloud metadata addresses, and loopback,
// which in a pod is the pod itself. It does not check the CIDRs' syntax.
func CheckAddressSet(cidrs []string) error {
	prefixes, err := parseCIDRs(cidrs)
	if err != nil {
		return nil // the syntax is the caller's check
	}
	return checkAddressSet(prefixes)
}

func checkAddressSet(prefixes []netip.Prefix) error {
	for _, family := range []bool{true, false} {
		if coversAll(prefixes, family) {
			return errors.New("covers the whole address space (a /0, or CIDRs whose union is one)")
		}
	}
	for _, p := range prefixes {
		for _, a := range metadataAddresses {
			if p.Contains(a) {
				return fmt.Errorf("includes %s, %w", a, errMetadata)
			}
		}
		if p.Addr().IsLoopback() || p.Contains(netip.MustParseAddr("127.0.0.1")) || p.Contains(netip.IPv6Loopback()) {
			return fmt.Errorf("includes loopback (%s), which in a pod is the pod itself; name the addresses the other side has on the network", p)
		}
	}
	return nil
}
