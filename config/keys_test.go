package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/mock"
)

func TestEveryKeyIsDeclaredOnceAndDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		assert.False(t, seen[s.Name], "%s is declared twice", s.Name)
		seen[s.Name] = true
		assert.NotEmpty(t, s.Description, s.Name)
		assert.NotEmpty(t, s.Example, "%s needs an example for its hints", s.Name)
		assert.False(t, strings.Contains(s.Description, "\n"), "%s: one-line description", s.Name)
	}
	assert.Greater(t, len(seen), 30)
}

// Every default passes its own key's checks, production's included: a production stack
// that sets only what has no default loads with no problem and no warning.
func TestDefaultsPassTheirOwnChecksInProduction(t *testing.T) {
	s := load(t, productionStack(map[string]string{KeyEdge.FullName(): EdgeEnvoyGateway}), nil)
	assert.Empty(t, s.Warnings)
}

// ingress-nginx, which stacks deployed before edge was required run, is the one thing
// production warns about: it is retired upstream.
func TestProductionWarnsAboutTheRetiredEdge(t *testing.T) {
	s := load(t, productionStack(map[string]string{
		KeyEdge.FullName(): EdgeIngressNginx,
		// Required with ingress-nginx: where the API server calls its webhook from.
		KeyIngressWebhookSourceCIDRs.FullName(): `["10.0.0.0/28"]`,
	}), nil)
	require.Len(t, s.Warnings, 1)
	assert.Contains(t, s.Warnings[0], KeyEdge.FullName()+": ingress-nginx is retired upstream")
}

func TestListsAcceptYAMLAndCommaSeparatedStrings(t *testing.T) {
	for _, raw := range []string{`["10.0.0.0/16","172.18.0.0/16"]`, "10.0.0.0/16, 172.18.0.0/16"} {
		cfg := developmentStack(map[string]string{KeyKubeAPIServerCIDRs.FullName(): raw})
		assert.Equal(t, []string{"10.0.0.0/16", "172.18.0.0/16"}, load(t, cfg, nil).APIServerCIDRs, raw)
	}
}

func TestWrongTypesNameTheKeyAndTheFix(t *testing.T) {
	err := loadErr(developmentStack(map[string]string{
		"backstage:replicas":               "2.5",
		"backstage:protectDatabase":        "yes",
		"backstage:kubeApiServerCidrs":     `["10.0.0.0/8", 3]`,
		"backstage:postgresMaxConnections": "many",
	}), nil)
	require.Error(t, err)
	for _, want := range []string{
		"backstage:replicas: \"2.5\" is not a whole number; set it with `pulumi config set backstage:replicas <number>`",
		"backstage:protectDatabase: \"yes\" is not true or false",
		"backstage:kubeApiServerCidrs: is not a list of strings",
		"backstage:postgresMaxConnections: \"many\" is not a whole number",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Contains(t, err.Error(), "4 problems")
}

// A value refused by its own check is not reasoned from again: replicas -3 reads as
// one problem, not also as a connection budget of negative pods.
func TestARefusedValueFeedsNoRuleBetweenKeys(t *testing.T) {
	err := loadErr(developmentStack(map[string]string{"backstage:replicas": "-3"}), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:replicas: is -3; use a value from 1 to 20")
	assert.NotContains(t, err.Error(), "backstage:postgresMaxConnections")
	assert.Contains(t, err.Error(), "1 problem")
}

// productionStack is what a production stack must set besides its edge, with overrides.
func productionStack(overrides map[string]string) map[string]string {
	cfg := map[string]string{
		"backstage:environment": "production",
		"backstage:image":       "ghcr.io/arhean/backstage:1.0.0",
		"backstage:host":        "backstage.example.com",
		"backstage:acmeEmail":   "ops@example.com",
	}
	maps.Copy(cfg, overrides)
	return cfg
}

// developmentStack is a development stack's minimal configuration with overrides.
func developmentStack(overrides map[string]string) map[string]string {
	cfg := map[string]string{
		"backstage:environment":             "development",
		"backstage:image":                   "ghcr.io/arhean/backstage:1.0.0",
		"backstage:host":                    "backstage.example.com",
		"backstage:tls":                     "none",
		"backstage:ingressAdmissionWebhook": "false",
		"backstage:edge":                    "ingress-nginx",
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	return cfg
}

func load(t *testing.T, values map[string]string, secrets []string) *Stack {
	t.Helper()
	var s *Stack
	m, err := mock.Run(func(ctx *pulumi.Context) error {
		var err error
		s, err = Load(ctx)
		return err
	}, withConfig(values, secrets))
	require.NoError(t, err)
	require.Empty(t, m.Registrations(), "loading the configuration registers nothing")
	return s
}

func loadErr(values map[string]string, secrets []string) error {
	_, err := mock.Run(func(ctx *pulumi.Context) error {
		_, err := Load(ctx)
		return err
	}, withConfig(values, secrets))
	return err
}

func withConfig(values map[string]string, secrets []string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = values
		info.ConfigSecretKeys = secrets
	}
}

// The table is an explicit list: a key declared beside its concern but left out of it
// would be neither read nor generated. Every `var KeyX = &Key[...]` of the package is
// in the table, once.
func TestEveryDeclaredKeyIsInTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	declared := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				for i, value := range spec.(*ast.ValueSpec).Values {
					if unary, ok := value.(*ast.UnaryExpr); ok && unary.Op == token.AND {
						if lit, ok := unary.X.(*ast.CompositeLit); ok {
							if index, ok := lit.Type.(*ast.IndexExpr); ok && fmt.Sprint(index.X) == "Key" {
								declared[spec.(*ast.ValueSpec).Names[i].Name] = true
							}
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, declared)
	listed := map[string]int{}
	for _, s := range Settings() {
		listed[s.Name]++
	}
	assert.Len(t, listed, len(table), "a key is listed twice")
	assert.Equal(t, len(declared), len(table), "every declared key belongs in the table in keys.go")
}

// The settings table's production column says what production refuses: every key with
// a production check of its own has it, and so do the keys whose production rule is
// between keys (rules.go); no other key claims one.
func TestEveryProductionRefusalIsInTheSettingsTable(t *testing.T) {
	ruleOnly := map[string]bool{KeyDatabaseSSLMode.Name: true, KeyRBACClusterWideRead.Name: true}
	for _, e := range table {
		s := e.setting()
		if e.hasProductionCheck() || ruleOnly[s.Name] {
			assert.NotEmpty(t, s.InProduction, "%s: production refuses something of it; say what in InProduction", s.Name)
		} else {
			assert.Empty(t, s.InProduction, "%s has no production check", s.Name)
		}
	}
}
