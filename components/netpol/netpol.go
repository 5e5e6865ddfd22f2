package netpol

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/workload"
)

// Building blocks of the NetworkPolicies of the app namespace and the ingress controller.

func TCP(port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt(port))}
}

func UDP(port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt(port))}
}

func Ports(p ...networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort { return p }

// namespaceNamed selects a namespace by the name label the API server sets on every one.
func NamespaceNamed(name string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"kubernetes.io/metadata.name": name},
	}}
}

func PodsLabelled(labels map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: workload.LabelSelector(labels)}
}

// cidrPeers is one ipBlock peer per CIDR.
func CIDRPeers(cidrs []string) []networkingv1.NetworkPolicyPeer {
	var Peers []networkingv1.NetworkPolicyPeer
	for _, cidr := range cidrs {
		Peers = append(Peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	return Peers
}

func Peers(p ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return p }

func PolicyTypes(types ...networkingv1.PolicyType) []networkingv1.PolicyType { return types }
