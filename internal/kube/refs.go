package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// refPrefix starts every reference; no configuration value can hold a NUL byte.
const refPrefix = "\x00pulumi-input:"

var lastRefs atomic.Uint64

// Refs lets the string fields of one object carry values other resources compute (a
// name from their outputs, a generated password, a hash of secret data): String hands
// out a reference that Register swaps back for the input, so that the engine still
// sees its dependency, secrecy and unknown-ness.
//
// A Refs belongs to the one object it is registered with. Register refuses a
// reference minted by another Refs, a reference the object does not carry (a builder
// dropped a value it was given), a reference used as a map key or inside a longer
// string, and a Refs registered twice. Checksum refuses a reference, since a hash
// taken before resolution would hash the reference, and pods would never roll.
type Refs struct {
	id         uint64
	inputs     []pulumi.StringInput
	used       []bool
	registered bool
}

// NewRefs starts the references of one object.
func NewRefs() *Refs { return &Refs{id: lastRefs.Add(1)} }

// String returns a plain value as it is and anything else as a reference to it.
func (r *Refs) String(in pulumi.StringInput) string {
	if in == nil {
		return ""
	}
	if plain, ok := in.(pulumi.String); ok {
		return string(plain)
	}
	token := refPrefix + strconv.FormatUint(r.id, 10) + "/" + strconv.Itoa(len(r.inputs)) + "\x00"
	r.inputs = append(r.inputs, in)
	r.used = append(r.used, false)
	return token
}

// Map is String for each value of a map.
func (r *Refs) Map(values pulumi.StringMap) map[string]string {
	out := make(map[string]string, len(values))
	for key, value := range values {
		out[key] = r.String(value)
	}
	return out
}

// IsRef says whether s holds a reference, whole or in part.
func IsRef(s string) bool { return strings.Contains(s, refPrefix) }

// resolve is the input a whole-string reference stands for.
func (r *Refs) resolve(s string) (pulumi.StringInput, error) {
	rest, ok := strings.CutPrefix(s, refPrefix)
	body, closed := strings.CutSuffix(rest, "\x00")
	owner, index, _ := strings.Cut(body, "/")
	if !ok || !closed || strings.Contains(body, "\x00") {
		return nil, fmt.Errorf(": a Pulumi input inside a longer string (%q); build the whole string with pulumi.Sprintf and pass that to Refs.String", s)
	}
	if r == nil || owner != strconv.FormatUint(r.id, 10) {
		return nil, fmt.Errorf(": a reference minted for another object; mint it with this object's Refs")
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 || i >= len(r.inputs) {
		return nil, fmt.Errorf(": a reference this object's Refs never minted")
	}
	r.used[i] = true
	return r.inputs[i], nil
}

// unused reports a reference minted for the object that the object does not carry.
func (r *Refs) unused() error {
	if r == nil {
		return nil
	}
	for i, used := range r.used {
		if !used {
			return fmt.Errorf("reference %d was minted for this object but the object does not carry it: a builder dropped a value it was given", i)
		}
	}
	return nil
}

// Checksum hashes a string map, for pod-template annotations that roll the pods when
// configuration they read at start-up changes. encoding/json writes map keys sorted,
// so equal maps hash equally. A reference is refused: hash the resolved values, in an
// ApplyT.
func Checksum(data map[string]string) (string, error) {
	for key, value := range data {
		if IsRef(key) || IsRef(value) {
			return "", fmt.Errorf("checksum of %q: a reference, not its value; hash the resolved values in an ApplyT", key)
		}
	}
	encoded, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(encoded)
	return hex.EncodeToString(sum[:]), nil
}
