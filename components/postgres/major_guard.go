package postgres

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// A server of one major refuses another major's data directory and stays down until
// the image is reverted. A major upgrade makes a new StatefulSet beside the old one,
// so the program never changes a server's major in place; a stack that changes
// postgresMajorVersion without postgresUpgrade would. The program cannot read what the
// cluster runs before it registers, so the API server refuses it: this admission policy
// denies an update of a database StatefulSet whose image changes major, on `up` and on
// `preview` alike (a server-side dry run is admitted the same way), and says the fix.

// majorGuardName names the cluster-scoped policy and binding after the namespace, as
// the ClusterRole is, so that two instances in one cluster keep theirs apart.
func majorGuardName(namespace pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("%s-postgres-major", namespace)
}

// majorOf is the CEL of an image's major: its tag's first dot-separated field, or ""
// for a reference without a tag (a digest), which the policy lets through.
const majorOf = `(%[1]s.contains('@') || !%[1]s.split('/')[size(%[1]s.split('/')) - 1].contains(':')) ? '' : %[1]s.split(':')[size(%[1]s.split(':')) - 1].split('.')[0].split('-')[0]`

func celMajor(image string) string {
	return fmt.Sprintf(majorOf, image)
}

func majorGuardPolicy(refs *kube.Refs, namespace pulumi.StringInput) *admissionregistrationv1.ValidatingAdmissionPolicy {
	const oldImage, newImage = "variables.oldImage", "variables.newImage"
	image := func(object string) string {
		return object + ".spec.template.spec.containers.exists(c, c.name == 'postgresql') ? " +
			object + ".spec.template.spec.containers.filter(c, c.name == 'postgresql')[0].image : ''"
	}
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: guardMeta(refs, namespace),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ObjectSelector: &metav1.LabelSelector{MatchLabels: names.PostgresSelector},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{
						APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"statefulsets"},
					},
				}}},
			},
			Variables: []admissionregistrationv1.Variable{
				{Name: "oldImage", Expression: image("oldObject")},
				{Name: "newImage", Expression: image("object")},
				{Name: "oldMajor", Expression: celMajor(oldImage)},
				{Name: "newMajor", Expression: celMajor(newImage)},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!variables.oldMajor.matches('^[0-9]+$') || !variables.newMajor.matches('^[0-9]+$') || variables.oldMajor == variables.newMajor",
				MessageExpression: `'the database server ' + object.metadata.name + ' runs PostgreSQL ' + variables.oldMajor + ' on its data directory, and ' + variables.newMajor + ` +
					`' cannot start on it; keep backstage:postgresMajorVersion at ' + variables.oldMajor + ', or move the data with backstage:postgresUpgrade {from: ' + variables.oldMajor + '} (docs/operations.md: Upgrading PostgreSQL)'`,
				Reason: ptr.To(metav1.StatusReasonInvalid),
			}},
		},
	}
}

func majorGuardBinding(refs *kube.Refs, namespace, policy pulumi.StringInput) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: guardMeta(refs, namespace),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        refs.String(policy),
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": refs.String(namespace)}},
			},
		},
	}
}

// guardMeta names a guard object after the namespace. A stack takes over the guard an
// earlier stack of the namespace left (its state lost, or moved), as it takes over the
// database: one Backstage per namespace, one guard.
func guardMeta(refs *kube.Refs, namespace pulumi.StringInput) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        refs.String(majorGuardName(namespace)),
		Labels:      map[string]string{"app.kubernetes.io/part-of": names.App},
		Annotations: map[string]string{"pulumi.com/patchForce": "true"},
	}
}
