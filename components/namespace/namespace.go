package namespace

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/internal/kube"
)

// NewRestrictedNamespace registers a namespace whose pods must meet Pod Security
// "restricted". It is kept on `pulumi destroy`, since deleting it would delete the
// database claim in it; protect also refuses its deletion until protection is lifted.
func NewRestrictedNamespace(ctx *pulumi.Context, name, namespace string, protect bool, opts ...pulumi.ResourceOption) (*kube.Object, error) {
	return kube.New(ctx, name, func(refs *kube.Refs) any { return Labelled(namespace, "restricted") },
		append(opts, pulumi.RetainOnDelete(true), pulumi.Protect(protect))...)
}

// Labelled is a namespace that enforces a Pod Security level.
func Labelled(name, level string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: podSecurityLabels(level)}}
}

// podSecurityLabels enforces a Pod Security level on a namespace, and warns and audits
// at "restricted" whatever is enforced, so exceptions stay visible.
func podSecurityLabels(level string) map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/warn":    "restricted",
		"pod-security.kubernetes.io/audit":   "restricted",
	}
}
