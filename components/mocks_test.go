package components

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/mock"
	"github.com/arhean/backstage-pulumi/internal/props"
)

// monitor is the shared mock monitor, with the look-ups these tests use.
type monitor struct{ *mock.Monitor }

// register runs f against the mocks and returns what it registered.
func register(t *testing.T, f func(ctx *pulumi.Context) error) (monitor, error) {
	t.Helper()
	m := &mock.Monitor{Outputs: func(args pulumi.MockResourceArgs, outputs resource.PropertyMap) {
		if args.TypeToken == "random:index/randomPassword:RandomPassword" {
			outputs["result"] = resource.MakeSecret(resource.NewProperty("generated"))
		}
	}}
	err := pulumi.RunErr(f, pulumi.WithMocks("backstage", "test", m))
	return monitor{m}, err
}

func (m monitor) named(t *testing.T, name string) mock.Registration {
	t.Helper()
	reg, ok := m.Named(name)
	require.True(t, ok, "%s is not registered", name)
	return reg
}

// value reads the input at a path of map keys and array indexes, as plain Go values.
func value(m resource.PropertyMap, path ...string) any {
	v := props.At(resource.NewObjectProperty(m), path...)
	if v.IsNull() {
		return nil
	}
	return props.Plain(v)
}

// childrenOf lists the names of the resources parented to a component.
func (m monitor) childrenOf(component string) []string {
	var out []string
	for _, c := range m.Registrations() {
		if strings.HasSuffix(c.Parent, "::"+component) {
			out = append(out, c.Name)
		}
	}
	return out
}
