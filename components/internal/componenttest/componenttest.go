// Package componenttest runs a component against the one mock monitor (internal/mock)
// and reads what it registered: the component packages' tests share it.
package componenttest

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/mock"
	"github.com/arhean/backstage-pulumi/internal/props"
)

// Monitor is the shared mock monitor, with the look-ups these tests use.
type Monitor struct{ *mock.Monitor }

// Register runs f against the mocks and returns what it registered.
func Register(t *testing.T, f func(ctx *pulumi.Context) error) (Monitor, error) {
	t.Helper()
	m := &mock.Monitor{Outputs: func(args pulumi.MockResourceArgs, outputs resource.PropertyMap) {
		if args.TypeToken == "random:index/randomPassword:RandomPassword" {
			outputs["result"] = resource.MakeSecret(resource.NewProperty("generated"))
		}
	}}
	err := pulumi.RunErr(f, pulumi.WithMocks("backstage", "test", m))
	return Monitor{m}, err
}

// MustNamed is the registration of that name; the test fails when there is none.
func (m Monitor) MustNamed(t *testing.T, name string) mock.Registration {
	t.Helper()
	reg, ok := m.Named(name)
	require.True(t, ok, "%s is not registered", name)
	return reg
}

// Value reads the input at a path of map keys and array indexes, as plain Go values.
func Value(m resource.PropertyMap, path ...string) any {
	v := props.At(resource.NewObjectProperty(m), path...)
	if v.IsNull() {
		return nil
	}
	return props.Plain(v)
}

// ChildrenOf lists the names of the resources parented to a component.
func (m Monitor) ChildrenOf(component string) []string {
	var out []string
	for _, c := range m.Registrations() {
		if strings.HasSuffix(c.Parent, "::"+component) {
			out = append(out, c.Name)
		}
	}
	return out
}
