package workload

// OrDefault returns v, or def when v is the zero value.
func OrDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// BoolOr dereferences an optional bool, so that a field whose default is true can tell
// "left out" from false.
func BoolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}
