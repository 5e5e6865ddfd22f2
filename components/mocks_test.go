package components

import (
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/props"
)

// child is one registration as the engine receives it.
type child struct {
	typ, name, parent       string
	inputs                  resource.PropertyMap
	protect, retainOnDelete bool
	ignoreChanges           []string
	dependencies            []string
}

// monitor records registrations and answers with the inputs as outputs.
type monitor struct {
	mu       sync.Mutex
	children []child
}

func (m *monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	c := child{typ: args.TypeToken, name: args.Name, inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		c.parent, c.protect, c.retainOnDelete, c.ignoreChanges = rpc.GetParent(), rpc.GetProtect(), rpc.GetRetainOnDelete(), rpc.GetIgnoreChanges()
		c.dependencies = rpc.GetDependencies()
	}
	outputs := args.Inputs.Copy()
	if args.TypeToken == "random:index/randomPassword:RandomPassword" {
		outputs["result"] = resource.MakeSecret(resource.NewProperty("generated"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.children = append(m.children, c)
	return args.Name + "-id", outputs, nil
}

func (m *monitor) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) { return nil, nil }

// register runs f against the mocks and returns what it registered.
func register(t *testing.T, f func(ctx *pulumi.Context) error) (*monitor, error) {
	t.Helper()
	m := &monitor{}
	err := pulumi.RunErr(f, pulumi.WithMocks("backstage", "test", m))
	return m, err
}

func (m *monitor) named(t *testing.T, name string) child {
	t.Helper()
	for _, c := range m.children {
		if c.name == name {
			return c
		}
	}
	require.Failf(t, "not registered", "%s", name)
	return child{}
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
func (m *monitor) childrenOf(component string) []string {
	var out []string
	for _, c := range m.children {
		if strings.HasSuffix(c.parent, "::"+component) {
			out = append(out, c.name)
		}
	}
	return out
}
