package workload

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// SkipAwaitAnnotation stops the provider from waiting on an object whose readiness
// another controller owns: a Service's endpoints follow its pods (which the workload's
// own await already covers) and an Ingress's address needs a running ingress
// controller. Waiting on them costs a fixed 10 s settle per Service and, with no
// controller, a 10-minute timeout per Ingress.
const SkipAwaitAnnotation = "pulumi.com/skipAwait"

// KubeScoreIgnoreUID skips kube-score's "UID and GID above 10000" rule on workloads
// whose images are built to run as a fixed low user (node 1000 in the Backstage image,
// postgres 999 in the official PostgreSQL image): runAsNonRoot still holds. The reason
// travels with the object so that whoever reads the manifest sees why.
func KubeScoreIgnoreUID(reason string) map[string]string {
	return map[string]string{
		"kube-score/ignore":        "container-security-context-user-group-id",
		"kube-score/ignore-reason": reason,
	}
}

// ObjectMeta builds metadata with the fixed name, namespace and labels every object gets.
// A nil namespace is for cluster-wide objects.
func ObjectMeta(refs *kube.Refs, name string, namespace pulumi.StringInput, labels, annotations map[string]string) metav1.ObjectMeta {
	all := map[string]string{"app.kubernetes.io/part-of": names.App, "app.kubernetes.io/managed-by": "pulumi"}
	maps.Copy(all, labels)
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   refs.String(namespace),
		Labels:      all,
		Annotations: annotations,
	}
}
