package components

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
		{&customObject{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer"}, "kubernetes:cert-manager.io/v1:ClusterIssuer"},
	} {
		apiVersion, kind, err := objectKind(tc.obj)
		require.NoError(t, err)
		assert.Equal(t, tc.token, typeToken(apiVersion, kind))
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
	inputs, err := objectInputs(deployment)
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

	policy, err := objectInputs(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"metadata": map[string]any{"name": "deny"}, "spec": map[string]any{"podSelector": map[string]any{}}},
		plainInputs(t, policy))
}

func TestInputsKeepTheirPlaceSecrecyAndDependency(t *testing.T) {
	m, err := register(t, func(ctx *pulumi.Context) error {
		source, err := registerObject(ctx, "source", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "apps"}})
		if err != nil {
			return err
		}
		password := pulumi.ToSecret(pulumi.String("hunter2")).(pulumi.StringOutput)
		_, err = registerObject(ctx, "secret", &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: input(source.Namespace())},
			StringData: map[string]string{"password": input(password), "user": "app"},
		})
		return err
	})
	require.NoError(t, err)
	secret := m.named(t, "secret")
	assert.Equal(t, "apps", value(secret.inputs, "metadata", "namespace"))
	assert.Equal(t, map[string]any{"password": "hunter2", "user": "app"}, value(secret.inputs, "stringData"))
	assert.True(t, props.IsSecretAt(resource.NewObjectProperty(secret.inputs), "stringData", "user"),
		"a Secret's data is secret as a whole, plain values too")
	assert.False(t, secret.inputs["metadata"].ContainsSecrets())
	assert.Equal(t, "v1", value(secret.inputs, "apiVersion"))
	assert.Equal(t, "Secret", value(secret.inputs, "kind"))
	assert.Contains(t, secret.dependencies, "urn:pulumi:test::backstage::kubernetes:core/v1:ConfigMap::source",
		"a name taken from another object's outputs orders the two")
}

func TestAnInputInsideALongerStringIsRefused(t *testing.T) {
	_, err := register(t, func(ctx *pulumi.Context) error {
		host := pulumi.String("db").ToStringOutput()
		_, err := registerObject(ctx, "job", &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "job"},
			Data:       map[string]string{"url": "postgres://" + input(host) + ":5432"},
		})
		return err
	})
	assert.ErrorContains(t, err, "data.url: a Pulumi input inside a longer string")
}

func TestPlainStringsNeedNoPlaceholder(t *testing.T) {
	assert.Equal(t, "backstage", input(pulumi.String("backstage")))
	assert.Empty(t, input(nil))
	assert.Contains(t, input(pulumi.String("x").ToStringOutput()), placeholderPrefix)
}

func plainInputs(t *testing.T, inputs pulumi.Map) map[string]any {
	t.Helper()
	m, err := register(t, func(ctx *pulumi.Context) error {
		var res pulumi.CustomResourceState
		return ctx.RegisterResource("test:index:Object", "object", inputs, &res)
	})
	require.NoError(t, err)
	return value(m.named(t, "object").inputs).(map[string]any)
}
