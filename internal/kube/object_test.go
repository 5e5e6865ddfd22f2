package kube

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/internal/mock"
	"github.com/arhean/backstage-pulumi/internal/props"
)

func TestObjectsRegisterUnderTheSDKsTypeTokens(t *testing.T) {
	for _, tc := range []struct {
		obj   any
		token string
	}{
		{&corev1.Secret{}, "kubernetes:core/v1:Secret"},
		{&appsv1.StatefulSet{}, "kubernetes:apps/v1:StatefulSet"},
		{&networkingv1.NetworkPolicy{}, "kubernetes:networking.k8s.io/v1:NetworkPolicy"},
		{&rbacv1.ClusterRoleBinding{}, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"},
		{&Custom{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer"}, "kubernetes:cert-manager.io/v1:ClusterIssuer"},
	} {
		apiVersion, kind, err := objectKind(tc.obj)
		require.NoError(t, err)
		assert.Equal(t, tc.token, TypeToken(apiVersion, kind))
	}
	_, _, err := objectKind(&storagev1.StorageClass{})
	assert.ErrorContains(t, err, "API group the program does not register")
	_, _, err = objectKind(corev1.Secret{})
	assert.ErrorContains(t, err, "not a pointer")
}

// The engine must see what the SDK's typed args sent: no `status: {}`, no
// `creationTimestamp: null`, no `resources: {}` or `strategy: {}` for fields left
// unset, while an empty struct the API requires (a policy's podSelector selecting
// every pod) and an empty pointer (emptyDir: {}) stay.
func TestObjectInputsLeaveOutWhatGoAddsForUnsetFields(t *testing.T) {
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "app:1"}},
				Volumes:    []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			}},
		},
	}
	inputs, err := objectInputs(deployment, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"metadata": map[string]any{"name": "app"},
		"spec": map[string]any{
			"replicas": 0.0,
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "app", "image": "app:1"}},
				"volumes":    []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}},
			}},
		},
	}, plainInputs(t, inputs))

	policy, err := objectInputs(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}}, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"metadata": map[string]any{"name": "deny"}, "spec": map[string]any{"podSelector": map[string]any{}}},
		plainInputs(t, policy))
}

// Users read what a controller reports: a Service's load balancer address.
func TestObjectsOfferTheirStatus(t *testing.T) {
	m := &mock.Monitor{Outputs: func(args pulumi.MockResourceArgs, outputs resource.PropertyMap) {
		outputs["status"] = resource.NewPropertyValue(map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.10"}}}})
	}}
	ips := make(chan any, 1)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		service, err := Register(ctx, "service", nil, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "app"}})
		if err != nil {
			return err
		}
		service.Status.ApplyT(func(status map[string]any) any {
			ips <- status["loadBalancer"]
			return nil
		})
		return nil
	}, pulumi.WithMocks("backstage", "test", m))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.10"}}}, <-ips)
}

// A built-in kind the bridge has no SDK entry for is refused: its aliases and secret
// outputs would be unknown.
func TestABuiltInKindWithoutAnEntryIsRefused(t *testing.T) {
	_, _, err := request(&corev1.Pod{}, nil)
	assert.ErrorContains(t, err, "kubernetes:core/v1:Pod: a built-in kind the bridge has no entry for")
}

func plainInputs(t *testing.T, inputs pulumi.Map) map[string]any {
	t.Helper()
	m, err := mock.Run(func(ctx *pulumi.Context) error {
		var res pulumi.CustomResourceState
		return ctx.RegisterResource("test:index:Object", "object", inputs, &res)
	})
	require.NoError(t, err)
	reg, _ := m.Named("object")
	return props.Plain(resource.NewObjectProperty(reg.Inputs)).(map[string]any)
}
