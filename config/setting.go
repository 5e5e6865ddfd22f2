package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumiconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Type is how Pulumi.yaml declares a key. Pulumi.yaml can declare only the first four;
// object settings appear in docs/configuration.md only.
type Type string

const (
	TypeString  Type = "string"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
	TypeArray   Type = "array"
	TypeObject  Type = "object"
)

// Setting is what a key declares, whatever its Go type: everything the generated files,
// the hints and the messages need.
type Setting struct {
	// Name is the key without its `backstage:` namespace.
	Name string
	// Description is one line, for Pulumi.yaml and docs/configuration.md.
	Description string
	// Example is the value the "set it with" hints show.
	Example string
	// InProduction says what production refuses of the key (its Production check and
	// the rules that read the environment), for the settings table.
	InProduction string
	// Required keys have no default; the stack must set them.
	Required bool
	// Secret keys must be set with `pulumi config set --secret`.
	Secret bool
	// Pinned marks a default that is a pinned version from components/pins/pins.go: it is
	// kept out of the generated files, so that a Renovate bump edits one line.
	Pinned bool
	// CommaSeparated lists also accept "a,b", as stack files written before lists
	// were YAML arrays do; such keys are declared without a type so the CLI passes both.
	CommaSeparated bool

	typ Type
}

// FullName is the key as users type it: `backstage:<name>`.
func (s *Setting) FullName() string { return Namespace + ":" + s.Name }

// Type is the key's type.
func (s *Setting) Type() Type { return s.typ }

// Key is one stack key: its Setting, its default, where its value goes in a Stack, and
// its checks. Declared once, in keys.go; reading, defaulting, validating and the
// generated files all come from it.
type Key[T any] struct {
	Setting
	// Default is the value when the key is unset (ignored for required keys).
	Default T
	// Into says which field of the Stack holds the value.
	Into func(*Stack) *T
	// Check refuses a bad value in every environment; Production only in production.
	// Their messages follow the key's name: "is 0; it must be at least 1".
	Check, Production func(T) error
	// Warn names a risky value that is accepted (outside production, where Production
	// does not refuse it).
	Warn func(T) string
}

// entry is a Key of any type, as the table holds it.
type entry interface {
	setting() *Setting
	declare()
	// defaultValue is the key's Default, whatever its type.
	defaultValue() any
	load(r *reader, s *Stack)
	validate(r *reader, s *Stack)
	// changed says whether the stack holds a value other than the key's default.
	changed(s *Stack) bool
	// hasProductionCheck says whether the key has a check of its own for production.
	hasProductionCheck() bool
}

func (k *Key[T]) hasProductionCheck() bool { return k.Production != nil }

func (k *Key[T]) changed(s *Stack) bool {
	return !reflect.DeepEqual(*k.Into(s), k.Default)
}

func (k *Key[T]) setting() *Setting { return &k.Setting }

// declare derives what the key's Go type says: the type Pulumi.yaml declares.
func (k *Key[T]) declare() {
	k.typ = typeOf[T]()
	if k.Secret && reflect.TypeFor[T]().Kind() == reflect.Interface {
		k.typ = TypeString // a pulumi.StringInput
	}
}

func (k *Key[T]) defaultValue() any { return k.Default }

// load reads the key into its Stack field: the stack's value, or the default.
func (k *Key[T]) load(r *reader, s *Stack) {
	dst := k.Into(s)
	*dst = k.Default
	if !r.has(k.Name) {
		return
	}
	if k.Secret {
		r.readSecret(&k.Setting, dst)
		return
	}
	raw, err := r.cfg.Try(k.Name)
	if err != nil {
		r.problem(k.Name, "cannot be read: %v", err)
		return
	}
	if err := parseInto(&k.Setting, strings.TrimSpace(raw), dst); err != nil {
		r.problem(k.Name, "%v", err)
	}
}

// validate runs the key's checks on the value load put in the Stack.
func (k *Key[T]) validate(r *reader, s *Stack) {
	v := *k.Into(s)
	if k.Required && reflect.ValueOf(&v).Elem().IsZero() {
		r.problem(k.Name, "is required; set it with `pulumi config set %s %s`", k.FullName(), k.Example)
		return
	}
	if k.Check != nil {
		if err := k.Check(v); err != nil {
			r.problem(k.Name, "%v", err)
			return
		}
	}
	if k.Production != nil {
		err := k.Production(v)
		if err != nil && s.Environment == Production {
			r.problem(k.Name, "%v", err)
			return
		}
	}
	if k.Warn != nil {
		if w := k.Warn(v); w != "" {
			s.Warnings = append(s.Warnings, k.FullName()+": "+w)
		}
	}
}

// parseInto converts a stack value to the key's Go type. An empty string is the
// default, as `pulumi config set key ""` means "unset" to users.
func parseInto[T any](s *Setting, raw string, dst *T) error {
	if raw == "" {
		return nil
	}
	v := reflect.ValueOf(dst).Elem()
	switch s.typ {
	case TypeString:
		v.SetString(raw)
	case TypeInteger:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("%q is not a whole number; set it with `pulumi config set %s <number>`", raw, s.FullName())
		}
		v.SetInt(int64(n))
	case TypeBoolean:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false; set it with `pulumi config set %s true|false`", raw, s.FullName())
		}
		v.SetBool(b)
	case TypeArray:
		list, err := parseList(s, raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(list))
	case TypeObject:
		// A field the shape does not have is a typo (mountpath, limit): refused, not
		// dropped, so that a setting never silently does less than it reads.
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			return fmt.Errorf("is not a %s: %v; write it as YAML under the key in the stack file, e.g. %s",
				objectShape(v.Type()), unwrapJSONError(err), s.Example)
		}
	default:
		return fmt.Errorf("has type %s, which the program cannot read", s.typ)
	}
	return nil
}

// objectShape names what an object key holds, for messages.
func objectShape(t reflect.Type) string {
	if t.Kind() == reflect.Slice {
		return "list"
	}
	return "map"
}

// unwrapJSONError drops the encoding/json prefix users would not recognise.
func unwrapJSONError(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// parseList reads a YAML list, which reaches the program as JSON, or for keys that
// allow it a comma-separated string.
func parseList(s *Setting, raw string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err == nil {
		return list, nil
	}
	if s.CommaSeparated && !strings.HasPrefix(raw, "[") {
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		return list, nil
	}
	return nil, fmt.Errorf("is not a list of strings; write it as a YAML list in the stack file or set it with `pulumi config set --path '%s[0]' %s`", s.FullName(), s.Example)
}

// typeOf derives the declared type from the Go type of a key's values: lists of
// strings are arrays, anything structured (maps, structs, lists of those) an object,
// which Pulumi.yaml cannot declare.
func typeOf[T any]() Type {
	t := reflect.TypeFor[T]()
	switch t.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Int:
		return TypeInteger
	case reflect.Bool:
		return TypeBoolean
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return TypeArray
		}
	}
	return TypeObject
}

// reader reads the stack's keys and collects every problem, so that one `pulumi up`
// shows all that needs mending.
type reader struct {
	cfg      *pulumiconfig.Config
	ctx      *pulumi.Context
	problems []string
	// refusedKeys are the keys that have a problem.
	refusedKeys keySet
}

func (r *reader) problem(key, format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("%s:%s: %s", Namespace, key, fmt.Sprintf(format, args...)))
	if r.refusedKeys == nil {
		r.refusedKeys = keySet{}
	}
	r.refusedKeys[key] = true
}

func (r *reader) has(key string) bool {
	_, ok := r.ctx.GetConfig(Namespace + ":" + key)
	return ok
}

// readSecret reads a credential as a secret output. A credential stored in plaintext
// in the stack file is a problem: it would sit in git and in the state unencrypted.
func (r *reader) readSecret(s *Setting, dst any) {
	if !r.ctx.IsConfigSecret(s.FullName()) {
		r.problem(s.Name, "is stored in plaintext; remove it and set it with `pulumi config set --secret %s %s`", s.FullName(), s.Example)
		return
	}
	v, err := r.cfg.TrySecret(s.Name)
	if err != nil {
		r.problem(s.Name, "cannot be read: %v", err)
		return
	}
	if out, ok := dst.(*pulumi.StringInput); ok {
		*out = v
		return
	}
	// A structured secret: the program sees the whole key as secret (one secure leaf
	// marks it all), and the key's type makes every value it holds a secret output.
	raw, err := r.cfg.Try(s.Name)
	if err != nil {
		r.problem(s.Name, "cannot be read: %v", err)
		return
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		r.problem(s.Name, "%s; set each entry with `pulumi config set --secret --path '%s.<name>' <value>`",
			unwrapJSONError(err), s.FullName())
	}
}
