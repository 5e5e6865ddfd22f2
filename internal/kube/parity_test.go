package kube

import (
	"encoding/json"
	"testing"

	sdkadmissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	sdkapiextensions "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	sdkappsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	sdkautoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	sdkbatchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	sdkcorev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	sdkmetav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	sdknetworkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	sdkpolicyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	sdkrbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/internal/mock"
)

// parityCase registers one kind twice: through the SDK's typed constructor and through
// the bridge, from the same desired object, with the same options.
type parityCase struct {
	token  string
	sdk    func(ctx *pulumi.Context, name string, meta *sdkmetav1.ObjectMetaArgs, opts ...pulumi.ResourceOption) error
	bridge func(meta metav1.ObjectMeta) any
}

func sdkCase[A any, R any](token string, newResource func(*pulumi.Context, string, *A, ...pulumi.ResourceOption) (R, error),
	args func(*sdkmetav1.ObjectMetaArgs) *A, bridge func(meta metav1.ObjectMeta) any) parityCase {
	return parityCase{
		token: token,
		sdk: func(ctx *pulumi.Context, name string, meta *sdkmetav1.ObjectMetaArgs, opts ...pulumi.ResourceOption) error {
			_, err := newResource(ctx, name, args(meta), opts...)
			return err
		},
		bridge: bridge,
	}
}

// The pod template of the workload kinds, whose specs encode it whether set or not.
var (
	sdkPod = &sdkcorev1.PodTemplateSpecArgs{Spec: &sdkcorev1.PodSpecArgs{
		Containers: sdkcorev1.ContainerArray{&sdkcorev1.ContainerArgs{Name: pulumi.String("app"), Image: pulumi.String("app:1")}}}}
	apiPod = corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
)

var parityCases = []parityCase{
	sdkCase("kubernetes:core/v1:ConfigMap", sdkcorev1.NewConfigMap,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.ConfigMapArgs {
			return &sdkcorev1.ConfigMapArgs{Metadata: m, Data: pulumi.StringMap{"a": pulumi.String("b")}}
		},
		func(m metav1.ObjectMeta) any {
			return &corev1.ConfigMap{ObjectMeta: m, Data: map[string]string{"a": "b"}}
		}),
	sdkCase("kubernetes:core/v1:Namespace", sdkcorev1.NewNamespace,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.NamespaceArgs {
			return &sdkcorev1.NamespaceArgs{Metadata: m}
		},
		func(m metav1.ObjectMeta) any { return &corev1.Namespace{ObjectMeta: m} }),
	sdkCase("kubernetes:core/v1:PersistentVolumeClaim", sdkcorev1.NewPersistentVolumeClaim,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.PersistentVolumeClaimArgs {
			return &sdkcorev1.PersistentVolumeClaimArgs{Metadata: m, Spec: &sdkcorev1.PersistentVolumeClaimSpecArgs{
				AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")}}}
		},
		func(m metav1.ObjectMeta) any {
			return &corev1.PersistentVolumeClaim{ObjectMeta: m, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}
		}),
	sdkCase("kubernetes:core/v1:Secret", sdkcorev1.NewSecret,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.SecretArgs {
			return &sdkcorev1.SecretArgs{Metadata: m, StringData: pulumi.StringMap{"password": pulumi.String("hunter2")}}
		},
		func(m metav1.ObjectMeta) any {
			return &corev1.Secret{ObjectMeta: m, StringData: map[string]string{"password": "hunter2"}}
		}),
	sdkCase("kubernetes:core/v1:Service", sdkcorev1.NewService,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.ServiceArgs { return &sdkcorev1.ServiceArgs{Metadata: m} },
		func(m metav1.ObjectMeta) any { return &corev1.Service{ObjectMeta: m} }),
	sdkCase("kubernetes:core/v1:ServiceAccount", sdkcorev1.NewServiceAccount,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkcorev1.ServiceAccountArgs {
			return &sdkcorev1.ServiceAccountArgs{Metadata: m}
		},
		func(m metav1.ObjectMeta) any { return &corev1.ServiceAccount{ObjectMeta: m} }),
	sdkCase("kubernetes:apps/v1:Deployment", sdkappsv1.NewDeployment,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkappsv1.DeploymentArgs {
			return &sdkappsv1.DeploymentArgs{Metadata: m, Spec: &sdkappsv1.DeploymentSpecArgs{Template: sdkPod}}
		},
		func(m metav1.ObjectMeta) any {
			return &appsv1.Deployment{ObjectMeta: m, Spec: appsv1.DeploymentSpec{Template: apiPod}}
		}),
	sdkCase("kubernetes:apps/v1:StatefulSet", sdkappsv1.NewStatefulSet,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkappsv1.StatefulSetArgs {
			return &sdkappsv1.StatefulSetArgs{Metadata: m, Spec: &sdkappsv1.StatefulSetSpecArgs{ServiceName: pulumi.String("db"), Template: sdkPod}}
		},
		func(m metav1.ObjectMeta) any {
			return &appsv1.StatefulSet{ObjectMeta: m, Spec: appsv1.StatefulSetSpec{ServiceName: "db", Template: apiPod}}
		}),
	sdkCase("kubernetes:batch/v1:CronJob", sdkbatchv1.NewCronJob,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkbatchv1.CronJobArgs {
			return &sdkbatchv1.CronJobArgs{Metadata: m, Spec: &sdkbatchv1.CronJobSpecArgs{Schedule: pulumi.String("@daily"),
				JobTemplate: &sdkbatchv1.JobTemplateSpecArgs{Spec: &sdkbatchv1.JobSpecArgs{Template: sdkPod}}}}
		},
		func(m metav1.ObjectMeta) any {
			return &batchv1.CronJob{ObjectMeta: m, Spec: batchv1.CronJobSpec{Schedule: "@daily",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: apiPod}}}}
		}),
	sdkCase("kubernetes:batch/v1:Job", sdkbatchv1.NewJob,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkbatchv1.JobArgs {
			return &sdkbatchv1.JobArgs{Metadata: m, Spec: &sdkbatchv1.JobSpecArgs{Template: sdkPod}}
		},
		func(m metav1.ObjectMeta) any {
			return &batchv1.Job{ObjectMeta: m, Spec: batchv1.JobSpec{Template: apiPod}}
		}),
	sdkCase("kubernetes:networking.k8s.io/v1:Ingress", sdknetworkingv1.NewIngress,
		func(m *sdkmetav1.ObjectMetaArgs) *sdknetworkingv1.IngressArgs {
			return &sdknetworkingv1.IngressArgs{Metadata: m}
		},
		func(m metav1.ObjectMeta) any { return &networkingv1.Ingress{ObjectMeta: m} }),
	sdkCase("kubernetes:networking.k8s.io/v1:NetworkPolicy", sdknetworkingv1.NewNetworkPolicy,
		func(m *sdkmetav1.ObjectMetaArgs) *sdknetworkingv1.NetworkPolicyArgs {
			return &sdknetworkingv1.NetworkPolicyArgs{Metadata: m, Spec: &sdknetworkingv1.NetworkPolicySpecArgs{
				PodSelector: &sdkmetav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app": pulumi.String("x")}}}}
		},
		func(m metav1.ObjectMeta) any {
			return &networkingv1.NetworkPolicy{ObjectMeta: m, Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
		}),
	sdkCase("kubernetes:policy/v1:PodDisruptionBudget", sdkpolicyv1.NewPodDisruptionBudget,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkpolicyv1.PodDisruptionBudgetArgs {
			return &sdkpolicyv1.PodDisruptionBudgetArgs{Metadata: m}
		},
		func(m metav1.ObjectMeta) any { return &policyv1.PodDisruptionBudget{ObjectMeta: m} }),
	sdkCase("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", sdkrbacv1.NewClusterRole,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkrbacv1.ClusterRoleArgs {
			return &sdkrbacv1.ClusterRoleArgs{Metadata: m}
		},
		func(m metav1.ObjectMeta) any { return &rbacv1.ClusterRole{ObjectMeta: m} }),
	sdkCase("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", sdkadmissionv1.NewValidatingAdmissionPolicy,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkadmissionv1.ValidatingAdmissionPolicyArgs {
			return &sdkadmissionv1.ValidatingAdmissionPolicyArgs{Metadata: m, Spec: &sdkadmissionv1.ValidatingAdmissionPolicySpecArgs{
				Validations: sdkadmissionv1.ValidationArray{sdkadmissionv1.ValidationArgs{Expression: pulumi.String("true")}}}}
		},
		func(m metav1.ObjectMeta) any {
			return &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: m, Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}}
		}),
	sdkCase("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding", sdkadmissionv1.NewValidatingAdmissionPolicyBinding,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkadmissionv1.ValidatingAdmissionPolicyBindingArgs {
			return &sdkadmissionv1.ValidatingAdmissionPolicyBindingArgs{Metadata: m, Spec: &sdkadmissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
				PolicyName: pulumi.String("p"), ValidationActions: pulumi.StringArray{pulumi.String("Deny")}}}
		},
		func(m metav1.ObjectMeta) any {
			return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: m, Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: "p", ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
		}),
	sdkCase("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", sdkautoscalingv2.NewHorizontalPodAutoscaler,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkautoscalingv2.HorizontalPodAutoscalerArgs {
			return &sdkautoscalingv2.HorizontalPodAutoscalerArgs{Metadata: m, Spec: &sdkautoscalingv2.HorizontalPodAutoscalerSpecArgs{
				MaxReplicas:    pulumi.Int(4),
				ScaleTargetRef: &sdkautoscalingv2.CrossVersionObjectReferenceArgs{ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: pulumi.String("d")}}}
		},
		func(m metav1.ObjectMeta) any {
			return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: m, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MaxReplicas:    4,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "d"}}}
		}),
	sdkCase("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", sdkrbacv1.NewClusterRoleBinding,
		func(m *sdkmetav1.ObjectMetaArgs) *sdkrbacv1.ClusterRoleBindingArgs {
			return &sdkrbacv1.ClusterRoleBindingArgs{Metadata: m, RoleRef: &sdkrbacv1.RoleRefArgs{
				ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: pulumi.String("r")}}
		},
		func(m metav1.ObjectMeta) any {
			return &rbacv1.ClusterRoleBinding{ObjectMeta: m, RoleRef: rbacv1.RoleRef{
				APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"}}
		}),
	{
		token: "kubernetes:core/v1:PersistentVolumeClaimPatch",
		sdk: func(ctx *pulumi.Context, name string, meta *sdkmetav1.ObjectMetaArgs, opts ...pulumi.ResourceOption) error {
			_, err := sdkcorev1.NewPersistentVolumeClaimPatch(ctx, name, &sdkcorev1.PersistentVolumeClaimPatchArgs{
				Metadata: &sdkmetav1.ObjectMetaPatchArgs{Name: meta.Name, Namespace: meta.Namespace, Labels: meta.Labels},
				Spec: &sdkcorev1.PersistentVolumeClaimSpecPatchArgs{Resources: &sdkcorev1.VolumeResourceRequirementsPatchArgs{
					Requests: pulumi.StringMap{"storage": pulumi.String("20Gi")}}},
			}, opts...)
			return err
		},
		bridge: func(m metav1.ObjectMeta) any {
			return &Patch{Object: &corev1.PersistentVolumeClaim{ObjectMeta: m, Spec: corev1.PersistentVolumeClaimSpec{
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")}}}}}
		},
	},
	{
		token: "kubernetes:cert-manager.io/v1:ClusterIssuer",
		sdk: func(ctx *pulumi.Context, name string, meta *sdkmetav1.ObjectMetaArgs, opts ...pulumi.ResourceOption) error {
			_, err := sdkapiextensions.NewCustomResource(ctx, name, &sdkapiextensions.CustomResourceArgs{
				ApiVersion: pulumi.String("cert-manager.io/v1"), Kind: pulumi.String("ClusterIssuer"), Metadata: meta,
				OtherFields: map[string]any{"spec": pulumi.Map{"selfSigned": pulumi.Map{}}},
			}, opts...)
			return err
		},
		bridge: func(m metav1.ObjectMeta) any {
			return &Custom{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer", Metadata: m,
				Spec: map[string]any{"selfSigned": map[string]any{}}}
		},
	},
}

// The bridge sends what the SDK's typed constructor sends: the same inputs (with the
// same secrets and a computed namespace's dependency), aliases, additional secret
// outputs, version and options, for every kind it registers. A kind the bridge
// registers without a case here fails, so that a new kind brings its check.
func TestRegistrationsMatchTheSDKsTypedConstructors(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range parityCases {
		t.Run(tc.token, func(t *testing.T) {
			covered[tc.token] = true
			m, err := mock.Run(func(ctx *pulumi.Context) error {
				source, err := Register(ctx, "source", nil, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}})
				if err != nil {
					return err
				}
				opts := []pulumi.ResourceOption{pulumi.Protect(true), pulumi.IgnoreChanges([]string{"metadata.labels"})}
				err = tc.sdk(ctx, "sdk", &sdkmetav1.ObjectMetaArgs{
					Name: pulumi.String("app"), Namespace: source.Name(), Labels: pulumi.StringMap{"a": pulumi.String("b")},
				}, opts...)
				if err != nil {
					return err
				}
				refs := NewRefs()
				_, err = Register(ctx, "bridge", refs, tc.bridge(metav1.ObjectMeta{
					Name: "app", Namespace: refs.String(source.Name()), Labels: map[string]string{"a": "b"},
				}), opts...)
				return err
			})
			require.NoError(t, err)
			sdk, _ := m.Named("sdk")
			bridge, _ := m.Named("bridge")
			require.Equal(t, tc.token, sdk.Type)
			assert.Equal(t, requestJSON(t, sdk), requestJSON(t, bridge))
		})
	}
	for token := range builtins {
		assert.True(t, covered[token], "%s: the bridge registers it, but no parity case checks it", token)
	}
}

// requestJSON is the registration request as JSON, without what names the call site
// (the Pulumi name, the source position and stack trace).
func requestJSON(t *testing.T, reg mock.Registration) string {
	t.Helper()
	req := proto.Clone(reg.Request).(*pulumirpc.RegisterResourceRequest)
	req.Name, req.SourcePosition, req.StackTrace = "", nil, nil
	data, err := protojson.Marshal(req)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	out, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return string(out)
}
