package kube

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/internal/mock"
	"github.com/arhean/backstage-pulumi/internal/props"
)

func computed(s string) pulumi.StringOutput { return pulumi.String(s).ToStringOutput() }

func TestReferencesKeepTheirPlaceSecrecyAndDependency(t *testing.T) {
	m, err := mock.Run(func(ctx *pulumi.Context) error {
		source, err := Register(ctx, "source", nil, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "apps"}})
		if err != nil {
			return err
		}
		password := pulumi.ToSecret(pulumi.String("hunter2")).(pulumi.StringOutput)
		refs := NewRefs()
		_, err = Register(ctx, "secret", refs, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: refs.String(source.Namespace())},
			StringData: map[string]string{"password": refs.String(password), "user": "app"},
		})
		return err
	})
	require.NoError(t, err)
	secret, _ := m.Named("secret")
	all := resource.NewObjectProperty(secret.Inputs)
	assert.Equal(t, "apps", props.Plain(props.At(all, "metadata", "namespace")))
	assert.Equal(t, map[string]any{"password": "hunter2", "user": "app"}, props.Plain(props.At(all, "stringData")))
	assert.True(t, props.IsSecretAt(all, "stringData", "user"), "a Secret's data is secret as a whole, plain values too")
	assert.False(t, secret.Inputs["metadata"].ContainsSecrets())
	assert.Equal(t, "v1", props.Plain(props.At(all, "apiVersion")))
	assert.Equal(t, "Secret", props.Plain(props.At(all, "kind")))
	assert.Contains(t, secret.Dependencies, "urn:pulumi:test::backstage::kubernetes:core/v1:ConfigMap::source",
		"a name taken from another object's outputs orders the two")
}

// Each misuse of a reference is an error at registration, naming the field.
func TestReferencesOutsideTheirObjectAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(refs *Refs) any
		want  string
	}{
		{"minted for another object", func(*Refs) any {
			return &corev1.ConfigMap{Data: map[string]string{"host": NewRefs().String(computed("db"))}}
		}, "data.host: a reference minted for another object"},
		{"minted and not carried", func(refs *Refs) any {
			refs.String(computed("db"))
			return &corev1.ConfigMap{Data: map[string]string{"host": "db"}}
		}, "reference 0 was minted for this object but the object does not carry it"},
		{"used as a map key", func(refs *Refs) any {
			return &corev1.ConfigMap{Data: map[string]string{refs.String(computed("db")): "x"}}
		}, "data: a reference used as a map key"},
		{"inside a longer string", func(refs *Refs) any {
			return &corev1.ConfigMap{Data: map[string]string{"url": "postgres://" + refs.String(computed("db")) + ":5432"}}
		}, "data.url: a Pulumi input inside a longer string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mock.Run(func(ctx *pulumi.Context) error {
				refs := NewRefs()
				_, err := Register(ctx, "object", refs, tc.build(refs))
				return err
			})
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRefsServeOneObject(t *testing.T) {
	_, err := mock.Run(func(ctx *pulumi.Context) error {
		refs := NewRefs()
		name := refs.String(computed("app"))
		if _, err := Register(ctx, "first", refs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			return err
		}
		_, err := Register(ctx, "second", refs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}})
		return err
	})
	assert.ErrorContains(t, err, "second: its Refs were registered with another object already")
}

// The init container reuses the main container's envFrom: one reference, two places.
func TestAReferenceMayStandInSeveralPlacesOfItsObject(t *testing.T) {
	m, err := mock.Run(func(ctx *pulumi.Context) error {
		refs := NewRefs()
		name := refs.String(computed("env"))
		_, err := Register(ctx, "object", refs, &corev1.ConfigMap{Data: map[string]string{"a": name, "b": name}})
		return err
	})
	require.NoError(t, err)
	reg, _ := m.Named("object")
	assert.Equal(t, map[string]any{"a": "env", "b": "env"}, props.Plain(props.At(resource.NewObjectProperty(reg.Inputs), "data")))
}

func TestChecksumRefusesAReference(t *testing.T) {
	_, err := Checksum(map[string]string{"host": NewRefs().String(computed("db"))})
	assert.ErrorContains(t, err, "a reference, not its value")
	a, err := Checksum(map[string]string{"a": "1", "b": "2"})
	require.NoError(t, err)
	b, err := Checksum(map[string]string{"b": "2", "a": "1"})
	require.NoError(t, err)
	assert.Equal(t, a, b, "equal maps hash equally")
	c, err := Checksum(map[string]string{"a": "1", "b": "3"})
	require.NoError(t, err)
	assert.NotEqual(t, a, c)
}

func TestPlainStringsNeedNoReference(t *testing.T) {
	refs := NewRefs()
	assert.Equal(t, "backstage", refs.String(pulumi.String("backstage")))
	assert.Empty(t, refs.String(nil))
	assert.True(t, IsRef(refs.String(computed("x"))))
}
