package components

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// KubeObject is a Kubernetes object the program builds as a k8s.io/api struct and
// registers under the type token of the SDK's typed resource
// (kubernetes:apps/v1:Deployment), with the inputs the SDK's constructor would send, so
// URNs, state and the provider's handling are the SDK's. It exists because every
// `pulumi preview` and `pulumi up` links the program first, and the SDK's typed API
// packages cost up to a second of that each (core/v1 alone: 1.0 s and 23 MB): their
// generated types all survive the linker, since the SDK looks methods up by name.
type KubeObject struct {
	pulumi.CustomResourceState

	Metadata pulumi.MapOutput `pulumi:"metadata"`
}

// Name is metadata.name as the provider reports it.
func (o *KubeObject) Name() pulumi.StringOutput { return o.metadataString("name") }

// Namespace is metadata.namespace as the provider reports it.
func (o *KubeObject) Namespace() pulumi.StringOutput { return o.metadataString("namespace") }

func (o *KubeObject) metadataString(field string) pulumi.StringOutput {
	return o.Metadata.ApplyT(func(metadata map[string]any) string {
		s, _ := metadata[field].(string)
		return s
	}).(pulumi.StringOutput)
}

// customObject is an object of a CustomResourceDefinition the program does not link
// types for (ClusterIssuer, HTTPRoute, ServiceMonitor).
type customObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       map[string]any    `json:"spec"`
}

// groupVersions maps the Go packages of the API types the program registers to their
// group and version; a type from any other package is refused when registered.
var groupVersions = map[string]schema.GroupVersion{
	reflect.TypeFor[corev1.Secret]().PkgPath():                corev1.SchemeGroupVersion,
	reflect.TypeFor[appsv1.Deployment]().PkgPath():            appsv1.SchemeGroupVersion,
	reflect.TypeFor[batchv1.Job]().PkgPath():                  batchv1.SchemeGroupVersion,
	reflect.TypeFor[networkingv1.NetworkPolicy]().PkgPath():   networkingv1.SchemeGroupVersion,
	reflect.TypeFor[policyv1.PodDisruptionBudget]().PkgPath(): policyv1.SchemeGroupVersion,
	reflect.TypeFor[rbacv1.ClusterRole]().PkgPath():           rbacv1.SchemeGroupVersion,
}

// secretFields are the fields the SDK's Secret marks secret, inputs and outputs alike.
var secretFields = []string{"data", "stringData"}

// registerObject registers obj, a pointer to a k8s.io/api object or a customObject.
func registerObject(ctx *pulumi.Context, name string, obj any, opts ...pulumi.ResourceOption) (*KubeObject, error) {
	apiVersion, kind, err := objectKind(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	inputs, err := objectInputs(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	inputs["apiVersion"], inputs["kind"] = pulumi.String(apiVersion), pulumi.String(kind)
	if apiVersion == "v1" && kind == "Secret" {
		for _, field := range secretFields {
			if value, ok := inputs[field]; ok {
				inputs[field] = pulumi.ToSecret(value)
			}
		}
		opts = append(opts, pulumi.AdditionalSecretOutputs(secretFields))
	}
	object := &KubeObject{}
	if err := ctx.RegisterResource(typeToken(apiVersion, kind), name, inputs, object, opts...); err != nil {
		return nil, err
	}
	return object, nil
}

// objectKind is the apiVersion and kind of a k8s.io/api struct, or a customObject's own.
func objectKind(obj any) (apiVersion, kind string, err error) {
	if custom, ok := obj.(*customObject); ok {
		return custom.APIVersion, custom.Kind, nil
	}
	t := reflect.TypeOf(obj)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return "", "", fmt.Errorf("%T is not a pointer to an API object", obj)
	}
	gv, ok := groupVersions[t.Elem().PkgPath()]
	if !ok {
		return "", "", fmt.Errorf("%T is of an API group the program does not register", obj)
	}
	return gv.String(), t.Elem().Name(), nil
}

// typeToken is the pulumi-kubernetes type token: the core group is spelled "core".
func typeToken(apiVersion, kind string) string {
	if !strings.Contains(apiVersion, "/") {
		apiVersion = "core/" + apiVersion
	}
	return "kubernetes:" + apiVersion + ":" + kind
}

// objectInputs turns an object into the inputs the engine receives: its JSON, less what
// Go's encoding adds that a typed SDK input never sends (null timestamps, empty
// structs such as `status: {}`), with the Pulumi inputs put back in their places.
func objectInputs(obj any) (pulumi.Map, error) {
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
		if inputs[key], err = toInput(value); err != nil {
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

// toInput turns JSON into Pulumi inputs, each placeholder string into the input it
// stands for.
func toInput(v any) (pulumi.Input, error) {
	switch v := v.(type) {
	case map[string]any:
		out := pulumi.Map{}
		for key, entry := range v {
			in, err := toInput(entry)
			if err != nil {
				return nil, fmt.Errorf(".%s%w", key, err)
			}
			out[key] = in
		}
		return out, nil
	case []any:
		out := make(pulumi.Array, 0, len(v))
		for i, item := range v {
			in, err := toInput(item)
			if err != nil {
				return nil, fmt.Errorf("[%d]%w", i, err)
			}
			out = append(out, in)
		}
		return out, nil
	case string:
		if !strings.Contains(v, placeholderPrefix) {
			return pulumi.String(v), nil
		}
		if in, ok := placeholders.lookup(v); ok {
			return in, nil
		}
		return nil, fmt.Errorf(": a Pulumi input inside a longer string (%q); build the whole string with pulumi.Sprintf and pass it to input", v)
	case float64:
		return pulumi.Float64(v), nil
	case bool:
		return pulumi.Bool(v), nil
	}
	return nil, fmt.Errorf(": unexpected JSON value %T", v)
}

// input lets a string field of an API struct carry a value another resource computes:
// a name from its outputs, a generated password, a hash of secret data. It returns a
// plain value as it is and anything else as a placeholder that registerObject puts the
// input back for, so that the engine still sees its dependency, secrecy and
// unknown-ness.
func input(in pulumi.StringInput) string {
	if in == nil {
		return ""
	}
	if plain, ok := in.(pulumi.String); ok {
		return string(plain)
	}
	return placeholders.add(in)
}

// inputMap is input for each value of a map.
func inputMap(values pulumi.StringMap) map[string]string {
	out := make(map[string]string, len(values))
	for key, value := range values {
		out[key] = input(value)
	}
	return out
}

const placeholderPrefix = "\x00pulumi-input:"

var placeholders = &placeholderTable{inputs: map[string]pulumi.StringInput{}}

type placeholderTable struct {
	mu     sync.Mutex
	inputs map[string]pulumi.StringInput
}

func (p *placeholderTable) add(in pulumi.StringInput) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	token := fmt.Sprintf("%s%d\x00", placeholderPrefix, len(p.inputs))
	p.inputs[token] = in
	return token
}

func (p *placeholderTable) lookup(token string) (pulumi.StringInput, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.inputs[token]
	return in, ok
}
