package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewRestrictedNamespace registers a namespace whose pods must meet Pod Security
// "restricted". It is kept on `pulumi destroy`, since deleting it would delete the
// database claim in it; protect also refuses its deletion until protection is lifted.
func NewRestrictedNamespace(ctx *pulumi.Context, name, namespace string, protect bool, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(namespace), Labels: podSecurityLabels("restricted")},
	}, append(opts, pulumi.RetainOnDelete(true), pulumi.Protect(protect))...)
}

// podSecurityLabels enforces a Pod Security level on a namespace, and warns and audits
// at "restricted" whatever is enforced, so exceptions stay visible.
func podSecurityLabels(level string) pulumi.StringMap {
	return pulumi.StringMap{
		"pod-security.kubernetes.io/enforce": pulumi.String(level),
		"pod-security.kubernetes.io/warn":    pulumi.String("restricted"),
		"pod-security.kubernetes.io/audit":   pulumi.String("restricted"),
	}
}
