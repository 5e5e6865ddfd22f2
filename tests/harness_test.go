package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/internal/mock"
	"github.com/arhean/backstage-pulumi/internal/props"
	"github.com/arhean/backstage-pulumi/program"
)

// repoRoot is where Pulumi.yaml and the stack files live.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

// Values the mocks hand out for generated secrets, and that placeholders of encrypted
// stack values take, so tests can look for them where they must never appear.
const (
	mockGeneratedPassword = "mock-generated-password-3f9a"
	mockBootstrapPassword = "mock-superuser-password-7c1e"
	mockCAKey             = "-----BEGIN PRIVATE KEY-----mock-ca-key"
	secretPlaceholder     = "mock-secret-value-of-"
)

// stackConfig is a stack's configuration as the Pulumi CLI hands it to the program:
// the stack file's values over Pulumi.yaml's defaults, secrets marked as such.
type stackConfig struct {
	name    string
	values  map[string]string
	secrets map[string]bool
}

// loadStack reads Pulumi.yaml and Pulumi.<stack>.yaml from the repository, so the
// committed files are what the tests test. Encrypted values get a recognisable
// placeholder, since the mocks have no secrets provider.
func loadStack(t testing.TB, stack string) stackConfig {
	t.Helper()
	var project struct {
		Name   string `yaml:"name"`
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "Pulumi.yaml", &project)
	cfg := stackConfig{name: stack, values: map[string]string{}, secrets: map[string]bool{}}
	for key, decl := range project.Config {
		if decl.Default != nil {
			cfg.values[project.Name+":"+key] = configString(t, decl.Default)
		}
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, "Pulumi."+stack+".yaml", &file)
	for key, value := range file.Config {
		if secure, ok := value.(map[string]any); ok && secure["secure"] != nil {
			cfg.set(key, secretPlaceholder+key, true)
			continue
		}
		cfg.values[key] = configString(t, value)
	}
	return cfg
}

// configString is a config value as the CLI hands it to a program: scalars as text,
// lists and maps as JSON.
func configString(t testing.TB, v any) string {
	switch v.(type) {
	case []any, map[string]any:
		data, err := json.Marshal(v)
		require.NoError(t, err)
		return string(data)
	}
	return fmt.Sprint(v)
}

func readYAML(t testing.TB, name string, out any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, name))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, out), name)
}

// with returns a copy with key (without the backstage: prefix) set, or removed when
// value is "<unset>".
func (c stackConfig) with(key, value string) stackConfig {
	out := stackConfig{name: c.name, values: map[string]string{}, secrets: map[string]bool{}}
	for k, v := range c.values {
		out.values[k] = v
	}
	for k, v := range c.secrets {
		out.secrets[k] = v
	}
	if value == "<unset>" {
		delete(out.values, "backstage:"+key)
		delete(out.secrets, "backstage:"+key)
	} else {
		out.values["backstage:"+key] = value
	}
	return out
}

func (c stackConfig) withSecret(key, value string) stackConfig {
	out := c.with(key, value)
	out.secrets["backstage:"+key] = true
	return out
}

func (c *stackConfig) set(key, value string, secret bool) {
	c.values[key] = value
	if secret {
		c.secrets[key] = true
	}
}

// registered is one resource registration as the engine would receive it.
type registered = mock.Registration

// recorder is the shared mock monitor, answering with values for the generated
// secrets besides the inputs.
type recorder struct{ *mock.Monitor }

func newRecorder() *recorder {
	return &recorder{&mock.Monitor{Outputs: generatedValues}}
}

func generatedValues(args pulumi.MockResourceArgs, outputs resource.PropertyMap) {
	switch args.TypeToken {
	case "random:index/randomPassword:RandomPassword":
		generated := mockGeneratedPassword
		if strings.Contains(args.Name, "bootstrap") {
			generated = mockBootstrapPassword
		}
		outputs["result"] = resource.MakeSecret(resource.NewProperty(generated))
	case "tls:index/privateKey:PrivateKey":
		outputs["privateKeyPem"] = resource.MakeSecret(resource.NewProperty(mockCAKey))
	case "tls:index/selfSignedCert:SelfSignedCert":
		outputs["certPem"] = resource.NewProperty("-----BEGIN CERTIFICATE-----mock-ca-cert")
	}
}

// run executes the stack body against the mocks with the given configuration.
func run(t testing.TB, cfg stackConfig) (*recorder, error) {
	t.Helper()
	rec := newRecorder()
	err := pulumi.RunErr(program.Run, pulumi.WithMocks("backstage", cfg.name, rec), withConfig(cfg))
	return rec, err
}

// mustRun is run for configurations that must succeed.
func mustRun(t testing.TB, cfg stackConfig) *recorder {
	t.Helper()
	rec, err := run(t, cfg)
	require.NoError(t, err)
	return rec
}

// kube finds the Kubernetes object of the given kind and metadata.name.
func (r *recorder) kube(t testing.TB, typeToken, name string) registered {
	t.Helper()
	var found []registered
	for _, res := range r.Registrations() {
		if res.Type == typeToken && str(res.Inputs, "metadata", "name") == name {
			found = append(found, res)
		}
	}
	require.Len(t, found, 1, "want exactly one %s named %q", typeToken, name)
	return found[0]
}

func (r *recorder) ofType(typeToken string) []registered {
	var out []registered
	for _, res := range r.Registrations() {
		if res.Type == typeToken {
			out = append(out, res)
		}
	}
	return out
}

func (r *recorder) byName(t testing.TB, name string) registered {
	t.Helper()
	for _, res := range r.Registrations() {
		if res.Name == name {
			return res
		}
	}
	require.Failf(t, "not registered", "no resource named %q", name)
	return registered{}
}

func get(m resource.PropertyMap, path ...string) resource.PropertyValue {
	return props.At(resource.NewObjectProperty(m), path...)
}

func str(m resource.PropertyMap, path ...string) string {
	v := get(m, path...)
	if v.IsString() {
		return v.StringValue()
	}
	if v.IsNumber() {
		return fmt.Sprint(v.NumberValue())
	}
	if v.IsBool() {
		return fmt.Sprint(v.BoolValue())
	}
	return ""
}

// plain turns a property value into Go values, secrets unwrapped.
func plain(v resource.PropertyValue) any { return props.Plain(v) }

// isSecretAt says whether the value at path, or any value enclosing it, is secret.
func isSecretAt(m resource.PropertyMap, path ...string) bool {
	return props.IsSecretAt(resource.NewObjectProperty(m), path...)
}

// containsString reports whether s occurs in any string inside v, secret or not.
func containsString(v resource.PropertyValue, s string) bool {
	return strings.Contains(fmt.Sprint(plain(v)), s)
}

// ofTypeNamed are the registrations of a type under one Pulumi name.
func (r *recorder) ofTypeNamed(typeToken, name string) []registered {
	var out []registered
	for _, res := range r.ofType(typeToken) {
		if res.Name == name {
			out = append(out, res)
		}
	}
	return out
}
