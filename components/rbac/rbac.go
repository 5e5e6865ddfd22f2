package rbac

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// RBACArgs configures the identity of the Backstage pods.
type RBACArgs struct {
	// Required: the namespace of the ServiceAccount.
	Namespace pulumi.StringInput
	// Optional: defaults to false. Grants get/list/watch on every resource of every API
	// group, Secrets included, instead of the Kubernetes plugin's read-only list.
	ClusterWideRead bool
	// Optional: defaults to "backstage-backend". The ClusterRole and ClusterRoleBinding
	// name; cluster-scoped, so two Backstage instances in one cluster need two names.
	ClusterRoleName string
	// Optional: annotations of the ServiceAccount, for workload identity (IRSA's
	// eks.amazonaws.com/role-arn, GKE's iam.gke.io/gcp-service-account, Azure's client id).
	ServiceAccountAnnotations map[string]string
	// Optional: defaults to true. Whether pods mount the account's token by default.
	AutomountServiceAccountToken *bool
}

// RBAC is the ServiceAccount the Backstage pods run as and the read-only cluster access
// the Backstage Kubernetes plugin needs to show workloads.
type RBAC struct {
	pulumi.ResourceState

	ServiceAccountName pulumi.StringOutput `pulumi:"serviceAccountName"`
	ClusterRoleName    pulumi.StringOutput `pulumi:"clusterRoleName"`
}

var readVerbs = []string{"get", "list", "watch"}

// pluginRules is what the Backstage Kubernetes plugin reads, by API group, and nothing
// more: no Secrets, no writes, no wildcards.
func pluginRules() []rbacv1.PolicyRule {
	rule := func(group string, verbs []string, resources ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs}
	}
	return []rbacv1.PolicyRule{
		rule("", readVerbs, "pods", "services", "configmaps", "limitranges", "resourcequotas"),
		rule("apps", readVerbs, "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("autoscaling", readVerbs, "horizontalpodautoscalers"),
		rule("networking.k8s.io", readVerbs, "ingresses"),
		rule("batch", readVerbs, "jobs", "cronjobs"),
		rule("metrics.k8s.io", []string{"get", "list"}, "pods"),
	}
}

// NewRBAC registers the ServiceAccount `backstage` and the ClusterRole and
// ClusterRoleBinding `backstage-backend`.
func NewRBAC(ctx *pulumi.Context, name string, args *RBACArgs, opts ...pulumi.ResourceOption) (*RBAC, error) {
	if args == nil || args.Namespace == nil {
		return nil, fmt.Errorf("component RBAC %q: missing required field Namespace", name)
	}
	if err := workload.CheckAnnotations(args.ServiceAccountAnnotations); err != nil {
		return nil, fmt.Errorf("component RBAC %q: field ServiceAccountAnnotations %w", name, err)
	}
	clusterRoleName := workload.OrDefault(args.ClusterRoleName, names.BackstageRBACName)
	comp := &RBAC{}
	if err := ctx.RegisterComponentResource("backstage:index:RBAC", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)
	labels := map[string]string{"app": "backstage"}

	sa, err := kube.New(ctx, name+"-service-account", func(refs *kube.Refs) any {
		return &corev1.ServiceAccount{
			ObjectMeta: workload.ObjectMeta(refs, names.BackstageName, args.Namespace, labels, args.ServiceAccountAnnotations),
			// The Kubernetes plugin authenticates with this token; Postgres pods opt out.
			AutomountServiceAccountToken: ptr.To(workload.BoolOr(args.AutomountServiceAccountToken, true)),
		}
	}, child)
	if err != nil {
		return nil, err
	}

	rules := pluginRules()
	if args.ClusterWideRead {
		rules = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: readVerbs}}
	}
	role, err := kube.New(ctx, name+"-cluster-role", func(refs *kube.Refs) any {
		return &rbacv1.ClusterRole{
			ObjectMeta: workload.ObjectMeta(refs, clusterRoleName, nil, labels, nil),
			Rules:      rules,
		}
	}, child)
	if err != nil {
		return nil, err
	}

	if _, err := kube.New(ctx, name+"-cluster-role-binding", func(refs *kube.Refs) any {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: workload.ObjectMeta(refs, clusterRoleName, nil, labels, nil),
			RoleRef: rbacv1.RoleRef{
				APIGroup: rbacv1.GroupName,
				Kind:     "ClusterRole",
				Name:     refs.String(role.Name()),
			},
			Subjects: []rbacv1.Subject{{
				Kind:      rbacv1.ServiceAccountKind,
				Name:      refs.String(sa.Name()),
				Namespace: refs.String(sa.Namespace()),
			}},
		}
	}, child); err != nil {
		return nil, err
	}

	comp.ServiceAccountName = sa.Name()
	comp.ClusterRoleName = role.Name()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"serviceAccountName": comp.ServiceAccountName,
		"clusterRoleName":    comp.ClusterRoleName,
	})
}
