// Package kube registers Kubernetes objects that the program builds as k8s.io/api
// structs under the type tokens of pulumi-kubernetes' typed resources
// (kubernetes:apps/v1:Deployment), with what the SDK's typed constructor would send:
// the inputs, the aliases of the kind's older API versions, the outputs it marks
// secret and the SDK's version. URNs, state and the provider's handling are therefore
// the SDK's.
//
// It exists because every `pulumi preview` and `pulumi up` links the program first,
// and the SDK's typed API packages cost up to a second of that each (core/v1 alone:
// 1.0 s and 23 MB): their generated types all survive the linker, since the SDK looks
// methods up by name. docs/decisions/0003-objects-as-api-structs.md has the numbers.
package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Object is a registered Kubernetes object, with the outputs its users read.
type Object struct {
	pulumi.CustomResourceState

	Metadata pulumi.MapOutput `pulumi:"metadata"`
	// Spec is the desired state as the API server holds it, defaults included: for a
	// field the program ignores changes to, what the object was made with.
	Spec pulumi.MapOutput `pulumi:"spec"`
	// Status is what the object's controller reports (a Service's load balancer, an
	// Ingress's address); empty for kinds without one.
	Status pulumi.MapOutput `pulumi:"status"`
}

// Name is metadata.name as the provider reports it.
func (o *Object) Name() pulumi.StringOutput { return o.metadataString("name") }

// Namespace is metadata.namespace as the provider reports it.
func (o *Object) Namespace() pulumi.StringOutput { return o.metadataString("namespace") }

func (o *Object) metadataString(field string) pulumi.StringOutput {
	return o.Metadata.ApplyT(func(metadata map[string]any) string {
		s, _ := metadata[field].(string)
		return s
	}).(pulumi.StringOutput)
}

// Custom is an object of a CustomResourceDefinition the program links no types for
// (ClusterIssuer, HTTPRoute, ServiceMonitor); it registers as the SDK's
// apiextensions.CustomResource does.
type Custom struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       map[string]any    `json:"spec"`
}

// Patch is a server-side apply patch of an object someone else made (the claim a
// StatefulSet made from its template): only the fields it sets, registered as the
// SDK's <Kind>Patch resource is. Object is a pointer to a k8s.io/api object.
type Patch struct{ Object any }

// Register registers obj, a pointer to a k8s.io/api object, a Custom or a Patch, whose string
// fields carry the references refs minted for it (nil when it carries none).
func Register(ctx *pulumi.Context, name string, refs *Refs, obj any, opts ...pulumi.ResourceOption) (*Object, error) {
	token, inputs, err := request(obj, refs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if kind, ok := builtins[token]; ok {
		opts = sdkOptions(kind, inputs, opts)
	}
	object := &Object{}
	if err := ctx.RegisterResource(token, name, inputs, object, opts...); err != nil {
		return nil, err
	}
	return object, nil
}

// request is the type token and inputs obj registers with.
func request(obj any, refs *Refs) (string, pulumi.Map, error) {
	suffix := ""
	if patch, ok := obj.(*Patch); ok {
		obj, suffix = patch.Object, "Patch"
	}
	apiVersion, kind, err := objectKind(obj)
	if err != nil {
		return "", nil, err
	}
	token := TypeToken(apiVersion, kind) + suffix
	if _, ok := builtins[token]; !ok && !strings.Contains(apiVersion, ".") {
		return "", nil, fmt.Errorf("%s: a built-in kind the bridge has no entry for; add its aliases and secret outputs to builtins", token)
	}
	if refs != nil {
		if refs.registered {
			return "", nil, fmt.Errorf("its Refs were registered with another object already; mint them anew for each object")
		}
		refs.registered = true
	}
	inputs, err := objectInputs(obj, refs)
	if err != nil {
		return "", nil, err
	}
	if err := refs.unused(); err != nil {
		return "", nil, err
	}
	inputs["apiVersion"], inputs["kind"] = pulumi.String(apiVersion), pulumi.String(kind)
	return token, inputs, nil
}

// sdkOptions adds what the SDK's typed constructor adds: the kind's secret inputs
// wrapped as secrets, its aliases and secret outputs, and the SDK's version.
func sdkOptions(kind sdkKind, inputs pulumi.Map, opts []pulumi.ResourceOption) []pulumi.ResourceOption {
	for _, field := range kind.secretOutputs {
		if value, ok := inputs[field]; ok {
			inputs[field] = pulumi.ToSecret(value)
		}
	}
	if len(kind.aliases) > 0 {
		aliases := make([]pulumi.Alias, len(kind.aliases))
		for i, alias := range kind.aliases {
			aliases[i] = pulumi.Alias{Type: pulumi.String(alias)}
		}
		opts = append(opts, pulumi.Aliases(aliases))
	}
	if len(kind.secretOutputs) > 0 {
		opts = append(opts, pulumi.AdditionalSecretOutputs(kind.secretOutputs))
	}
	return utilities.PkgResourceDefaultOpts(opts)
}

// objectInputs turns an object into the inputs the engine receives: its JSON, less what
// Go's encoding adds that a typed SDK input never sends (null timestamps, empty
// structs such as `status: {}`), with the Pulumi inputs put back in their places.
func objectInputs(obj any, refs *Refs) (pulumi.Map, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	pruneStruct(fields, reflect.TypeOf(obj).Elem())
	delete(fields, "apiVersion")
	delete(fields, "kind")
	// The controllers write status; the zero counts Go encodes are no desired state.
	delete(fields, "status")
	inputs := pulumi.Map{}
	for key, value := range fields {
		if inputs[key], err = toInput(value, refs); err != nil {
			return nil, fmt.Errorf("%s%w", key, err)
		}
	}
	return inputs, nil
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// prune drops, inside v (the JSON of a value of type t), the nulls and the empty
// objects of struct fields tagged omitempty, which encoding/json keeps.
func prune(v any, t reflect.Type) any {
	t = derefType(t)
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return v // Quantity, IntOrString, Time: their own encoding
	}
	switch t.Kind() {
	case reflect.Struct:
		if fields, ok := v.(map[string]any); ok {
			pruneStruct(fields, t)
		}
	case reflect.Slice, reflect.Array:
		if items, ok := v.([]any); ok {
			for i := range items {
				items[i] = prune(items[i], t.Elem())
			}
		}
	case reflect.Map:
		if entries, ok := v.(map[string]any); ok {
			for key, entry := range entries {
				entries[key] = prune(entry, t.Elem())
			}
		}
	}
	return v
}

func pruneStruct(fields map[string]any, t reflect.Type) {
	for i := range t.NumField() {
		field := t.Field(i)
		name, options, _ := strings.Cut(field.Tag.Get("json"), ",")
		omitEmpty := slices.Contains(strings.Split(options, ","), "omitempty")
		if name == "-" {
			continue
		}
		if field.Anonymous && name == "" {
			if embedded := derefType(field.Type); embedded.Kind() == reflect.Struct {
				pruneStruct(fields, embedded) // inline, as TypeMeta
				continue
			}
		}
		if name == "" {
			name = field.Name
		}
		value, ok := fields[name]
		if !ok {
			continue
		}
		if value == nil {
			delete(fields, name)
			continue
		}
		value = prune(value, field.Type)
		if empty, isMap := value.(map[string]any); isMap && len(empty) == 0 &&
			field.Type.Kind() == reflect.Struct && omitEmpty {
			delete(fields, name)
			continue
		}
		fields[name] = value
	}
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// toInput turns JSON into Pulumi inputs, each reference into the input it stands for.
func toInput(v any, refs *Refs) (pulumi.Input, error) {
	switch v := v.(type) {
	case map[string]any:
		out := pulumi.Map{}
		for key, entry := range v {
			if IsRef(key) {
				return nil, fmt.Errorf(": a reference used as a map key; keys must be plain strings")
			}
			in, err := toInput(entry, refs)
			if err != nil {
				return nil, fmt.Errorf(".%s%w", key, err)
			}
			out[key] = in
		}
		return out, nil
	case []any:
		out := make(pulumi.Array, 0, len(v))
		for i, item := range v {
			in, err := toInput(item, refs)
			if err != nil {
				return nil, fmt.Errorf("[%d]%w", i, err)
			}
			out = append(out, in)
		}
		return out, nil
	case string:
		if !IsRef(v) {
			return pulumi.String(v), nil
		}
		return refs.resolve(v)
	case float64:
		return pulumi.Float64(v), nil
	case bool:
		return pulumi.Bool(v), nil
	}
	return nil, fmt.Errorf(": unexpected JSON value %T", v)
}

// New builds an object with references of its own and registers it: the references
// build mints cannot reach another object.
func New(ctx *pulumi.Context, name string, build func(refs *Refs) any, opts ...pulumi.ResourceOption) (*Object, error) {
	refs := NewRefs()
	return Register(ctx, name, refs, build(refs), opts...)
}
