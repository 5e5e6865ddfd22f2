// Package mock is the one mock resource monitor of the program's tests: it records
// every registration as the engine would receive it and answers with the inputs as
// outputs, plus whatever a test's Outputs hook adds (a generated password, a key).
package mock

import (
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Registration is one resource registration as the engine receives it.
type Registration struct {
	Type, Name     string
	URN            string
	Custom         bool
	Inputs         resource.PropertyMap
	Parent         string
	Provider       string
	Protect        bool
	RetainOnDelete bool
	IgnoreChanges  []string
	Dependencies   []string
	// Request is the whole request, for what the fields above leave out (aliases,
	// additional secret outputs, the SDK version).
	Request *pulumirpc.RegisterResourceRequest
}

// Monitor records registrations. The zero value is ready to use.
type Monitor struct {
	// Outputs, when set, adds to the outputs of a registration (which start as its
	// inputs): the values a provider computes.
	Outputs func(args pulumi.MockResourceArgs, outputs resource.PropertyMap)

	mu            sync.Mutex
	registrations []Registration
}

func (m *Monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	reg := Registration{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		reg.Parent = rpc.GetParent()
		reg.Provider = rpc.GetProvider()
		reg.Protect = rpc.GetProtect()
		reg.RetainOnDelete = rpc.GetRetainOnDelete()
		reg.IgnoreChanges = rpc.GetIgnoreChanges()
		reg.Dependencies = rpc.GetDependencies()
		reg.Request = rpc
	}
	reg.URN = fmt.Sprintf("urn:%s::%s", args.TypeToken, args.Name)
	outputs := args.Inputs.Copy()
	if m.Outputs != nil {
		m.Outputs(args, outputs)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registrations = append(m.registrations, reg)
	return args.Name + "-id", outputs, nil
}

func (m *Monitor) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("the program makes no calls, got %s", args.Token)
}

// Registrations are the registrations so far, in the order they arrived.
func (m *Monitor) Registrations() []Registration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Registration(nil), m.registrations...)
}

// Named is the registration of a Pulumi name.
func (m *Monitor) Named(name string) (Registration, bool) {
	for _, reg := range m.Registrations() {
		if reg.Name == name {
			return reg, true
		}
	}
	return Registration{}, false
}

// Run runs f against a fresh Monitor (for project backstage, stack test unless opts
// say otherwise) and returns the monitor and f's error.
func Run(f pulumi.RunFunc, opts ...pulumi.RunOption) (*Monitor, error) {
	m := &Monitor{}
	err := pulumi.RunErr(f, append([]pulumi.RunOption{pulumi.WithMocks("backstage", "test", m)}, opts...)...)
	return m, err
}
