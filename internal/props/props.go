// Package props walks Pulumi property values the way tests read registered inputs:
// by a path of map keys and array indexes, looking through secrets.
package props

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// At walks a property path of maps (by key) and arrays (by index as "0", "1", ...),
// looking through secrets; it returns a null value where the path does not exist.
func At(v resource.PropertyValue, path ...string) resource.PropertyValue {
	for _, step := range path {
		v = unwrap(v)
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(step)]
		case v.IsArray():
			var i int
			if _, err := fmt.Sscan(step, &i); err != nil || i >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[i]
		default:
			return resource.NewNullProperty()
		}
	}
	return unwrap(v)
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
