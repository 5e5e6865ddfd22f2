// Package props walks Pulumi property values the way tests read registered inputs:
// by a path of map keys and array indexes, looking through secrets.
package props

import (
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// At walks a property path of maps (by key) and arrays (by index as "0", "1", ...),
// looking through secrets; it returns a null value where the path does not exist.
func At(v resource.PropertyValue, path ...string) resource.PropertyValue {
	for _, key := range path {
		var ok bool
		if v, ok = step(unwrap(v), key); !ok {
			return resource.NewNullProperty()
		}
	}
	return unwrap(v)
}

// IsSecretAt says whether the value at path, or any value enclosing it, is secret.
func IsSecretAt(v resource.PropertyValue, path ...string) bool {
	for _, key := range path {
		if v.IsSecret() {
			return true
		}
		var ok bool
		if v, ok = step(v, key); !ok {
			return false
		}
	}
	return v.IsSecret()
}

// step goes one key into a map or one index into an array.
func step(v resource.PropertyValue, key string) (resource.PropertyValue, bool) {
	switch {
	case v.IsObject():
		e, ok := v.ObjectValue()[resource.PropertyKey(key)]
		return e, ok
	case v.IsArray():
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(v.ArrayValue()) {
			return resource.PropertyValue{}, false
		}
		return v.ArrayValue()[i], true
	}
	return resource.PropertyValue{}, false
}

// Plain turns a property value into Go values, secrets unwrapped and unknowns shown
// as "<unknown>".
func Plain(v resource.PropertyValue) any {
	v = unwrap(v)
	switch {
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = Plain(e)
		}
		return out
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, Plain(e))
		}
		return out
	case v.IsComputed() || v.IsOutput():
		return "<unknown>"
	}
	return v.V
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}
