package components

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Building blocks of the NetworkPolicies of the app namespace and the ingress controller.

func tcp(port int) networkingv1.NetworkPolicyPortArgs {
	return networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
}

func udp(port int) networkingv1.NetworkPolicyPortArgs {
	return networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(port)}
}

func ports(p ...networkingv1.NetworkPolicyPortInput) networkingv1.NetworkPolicyPortArray {
	return networkingv1.NetworkPolicyPortArray(p)
}

// namespaceNamed selects a namespace by the name label the API server sets on every one.
func namespaceNamed(name string) networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
		MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(name)},
	}}
}

func podsLabelled(labels map[string]string) networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{PodSelector: labelSelector(labels)}
}

// cidrPeers is one ipBlock peer per CIDR.
func cidrPeers(cidrs []string) networkingv1.NetworkPolicyPeerArray {
	var peers networkingv1.NetworkPolicyPeerArray
	for _, cidr := range cidrs {
		peers = append(peers, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	return peers
}

func peers(p ...networkingv1.NetworkPolicyPeerInput) networkingv1.NetworkPolicyPeerArray {
	return networkingv1.NetworkPolicyPeerArray(p)
}

func policyTypes(types ...string) pulumi.StringArray {
	return pulumi.ToStringArray(types)
}
