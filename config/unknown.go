package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// A key under backstage: that the program does not have is a typo or a setting from
// another version; dropped silently, the stack would deploy without what its author
// believes it sets. Each is refused with the closest known name.

// stackKeys lists the keys the stack sets. The Go SDK keeps them in the context's run
// information and offers only GetConfig by name; reflection reads the map's keys (never
// its values). TestUnknownKeysAreRefused fails if an SDK release moves the map, so a
// bump cannot silently switch the check off.
func stackKeys(ctx *pulumi.Context) []string {
	v := reflect.ValueOf(ctx)
	for _, field := range []string{"state", "info", "Config"} {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		if v = v.FieldByName(field); !v.IsValid() {
			return nil
		}
	}
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
		return nil
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	return keys
}

// checkUnknownKeys refuses every backstage: key the table does not have.
func checkUnknownKeys(r *reader) {
	known := make([]string, 0, len(table))
	for _, e := range table {
		known = append(known, e.setting().Name)
	}
	for _, full := range stackKeys(r.ctx) {
		name, ok := strings.CutPrefix(full, Namespace+":")
		if !ok || slices.Contains(known, name) {
			continue
		}
		r.problem(name, "is not a setting of this program (it would be ignored); did you mean %s:%s? docs/configuration.md lists every key",
			Namespace, closest(name, known))
	}
}

// closest is the known name nearest to name by edit distance, case ignored; of equally
// near ones, the one sharing the longest start with it (postgresStorage is
// postgresStorageSize, not postgresImage).
func closest(name string, known []string) string {
	name = strings.ToLower(name)
	best, bestDistance, bestPrefix := "", -1, 0
	for _, k := range known {
		lower := strings.ToLower(k)
		d, p := editDistance(name, lower), commonPrefix(name, lower)
		if bestDistance < 0 || d < bestDistance || (d == bestDistance && p > bestPrefix) {
			best, bestDistance, bestPrefix = k, d, p
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
