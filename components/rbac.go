package components

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
}

// RBAC is the ServiceAccount the Backstage pods run as and the read-only cluster access
// the Backstage Kubernetes plugin needs to show workloads.
type RBAC struct {
	pulumi.ResourceState

	ServiceAccountName pulumi.StringOutput `pulumi:"serviceAccountName"`
	ClusterRoleName    pulumi.StringOutput `pulumi:"clusterRoleName"`
}

var readVerbs = pulumi.StringArray{pulumi.String("get"), pulumi.String("list"), pulumi.String("watch")}

// pluginRules is what the Backstage Kubernetes plugin reads, by API group, and nothing
// more: no Secrets, no writes, no wildcards.
func pluginRules() rbacv1.PolicyRuleArray {
	rule := func(group string, verbs pulumi.StringArray, resources ...string) rbacv1.PolicyRuleArgs {
		return rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String(group)},
			Resources: pulumi.ToStringArray(resources),
			Verbs:     verbs,
		}
	}
	return rbacv1.PolicyRuleArray{
		rule("", readVerbs, "pods", "services", "configmaps", "limitranges", "resourcequotas"),
		rule("apps", readVerbs, "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("autoscaling", readVerbs, "horizontalpodautoscalers"),
		rule("networking.k8s.io", readVerbs, "ingresses"),
		rule("batch", readVerbs, "jobs", "cronjobs"),
		rule("metrics.k8s.io", pulumi.StringArray{pulumi.String("get"), pulumi.String("list")}, "pods"),
	}
}

// NewRBAC registers the ServiceAccount `backstage` and the ClusterRole and
// ClusterRoleBinding `backstage-backend`.
func NewRBAC(ctx *pulumi.Context, name string, args *RBACArgs, opts ...pulumi.ResourceOption) (*RBAC, error) {
	if args == nil || args.Namespace == nil {
		return nil, fmt.Errorf("component RBAC %q: missing required field Namespace", name)
	}
	clusterRoleName := orDefault(args.ClusterRoleName, BackstageRBACName)
	comp := &RBAC{}
	if err := ctx.RegisterComponentResource("backstage:index:RBAC", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)
	labels := map[string]string{"app": "backstage"}

	sa, err := corev1.NewServiceAccount(ctx, name+"-service-account", &corev1.ServiceAccountArgs{
		Metadata: objectMeta(BackstageName, args.Namespace, labels, nil),
		// The Kubernetes plugin authenticates with this token; Postgres pods opt out.
		AutomountServiceAccountToken: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, err
	}

	rules := pluginRules()
	if args.ClusterWideRead {
		rules = rbacv1.PolicyRuleArray{rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("*")},
			Resources: pulumi.StringArray{pulumi.String("*")},
			Verbs:     readVerbs,
		}}
	}
	role, err := rbacv1.NewClusterRole(ctx, name+"-cluster-role", &rbacv1.ClusterRoleArgs{
		Metadata: objectMeta(clusterRoleName, nil, labels, nil),
		Rules:    rules,
	}, child)
	if err != nil {
		return nil, err
	}

	if _, err := rbacv1.NewClusterRoleBinding(ctx, name+"-cluster-role-binding", &rbacv1.ClusterRoleBindingArgs{
		Metadata: objectMeta(clusterRoleName, nil, labels, nil),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"),
			Kind:     pulumi.String("ClusterRole"),
			Name:     role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{
			Kind:      pulumi.String("ServiceAccount"),
			Name:      sa.Metadata.Name().Elem(),
			Namespace: sa.Metadata.Namespace().Elem(),
		}},
	}, child); err != nil {
		return nil, err
	}

	comp.ServiceAccountName = sa.Metadata.Name().Elem()
	comp.ClusterRoleName = role.Metadata.Name().Elem()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"serviceAccountName": comp.ServiceAccountName,
		"clusterRoleName":    comp.ClusterRoleName,
	})
}
