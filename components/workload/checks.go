package workload

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The shapes of the rules the components' checks are made of. Each message says what
// the value is and the fix, so that the stack's key table, which runs the same checks
// on its keys, can put the key's name in front of it.

// Between refuses a number outside lo..hi; why says where the bounds come from.
func Between(v, lo, hi int, why string) error {
	if v < lo || v > hi {
		return fmt.Errorf("is %d; use a value from %d to %d (%s)", v, lo, hi, why)
	}
	return nil
}

// CheckLabels refuses a key that is not a qualified name or a value a label cannot hold.
func CheckLabels(labels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("%q is not a label key (%s)", k, errs[0])
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			return fmt.Errorf("%q is not a label value (%s)", labels[k], errs[0])
		}
	}
	return nil
}

// CheckAnnotations refuses a key that is not a qualified name, as the API server does.
func CheckAnnotations(annotations map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
			return fmt.Errorf("%q is not an annotation key (%s)", k, errs[0])
		}
	}
	return nil
}
