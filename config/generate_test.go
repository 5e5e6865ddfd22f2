package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// The committed Pulumi.yaml and settings table are what the key table generates; after
// editing config/keys.go, `make generate` brings them in step.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	project, err := ProjectYAML()
	require.NoError(t, err)
	committed, err := os.ReadFile(filepath.Join("..", "Pulumi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(project), string(committed), "Pulumi.yaml is stale: run `make generate`")

	readme, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	require.NoError(t, err)
	regenerated, err := ReplaceSettingsTable(string(readme))
	require.NoError(t, err)
	// The page is long: compare only its generated table, so a failure shows the diff
	// of the table rather than two whole files.
	assert.Equal(t, settingsSection(t, regenerated), settingsSection(t, string(readme)), "docs/configuration.md's settings table is stale: run `make generate`")
}

func settingsSection(t *testing.T, readme string) string {
	t.Helper()
	begin, end := strings.Index(readme, "<!-- settings:begin"), strings.Index(readme, "<!-- settings:end -->")
	require.True(t, begin >= 0 && end > begin, "docs/configuration.md has no settings markers")
	return readme[begin:end]
}

// What Pulumi.yaml declares is exactly what the CLI accepts: a type it knows, array
// items typed, a default of that type for every optional key, and no pinned version.
func TestProjectYAMLDeclaresWhatTheCLIAccepts(t *testing.T) {
	data, err := ProjectYAML()
	require.NoError(t, err)
	var project struct {
		Config map[string]struct {
			Type    string `yaml:"type"`
			Items   any    `yaml:"items"`
			Default any    `yaml:"default"`
		} `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &project))
	for _, s := range Settings() {
		decl, declared := project.Config[s.Name]
		if !declaredInProject(s) {
			assert.False(t, declared, "%s must stay out of Pulumi.yaml", s.Name)
			continue
		}
		require.True(t, declared, s.Name)
		assert.Equal(t, s.Required, decl.Default == nil, "%s: a declared key without a default is required by the CLI", s.Name)
		if s.CommaSeparated {
			assert.Empty(t, decl.Type, "%s is untyped so that the CLI passes a comma-separated string", s.Name)
			continue
		}
		assert.Contains(t, []string{"string", "integer", "boolean", "array"}, decl.Type, s.Name)
		if decl.Type == "array" {
			assert.NotNil(t, decl.Items, "%s: the CLI refuses an array without items", s.Name)
		}
	}
}

// A Renovate bump edits components/pins/pins.go only: no generated file holds a pinned
// version.
func TestGeneratedFilesHoldNoPinnedVersion(t *testing.T) {
	project, err := ProjectYAML()
	require.NoError(t, err)
	readmeTable := SettingsTable()
	for _, e := range table {
		s := e.setting()
		if !s.Pinned {
			continue
		}
		version, ok := e.defaultValue().(string)
		require.True(t, ok)
		if version == "" {
			continue // the default comes from another key (postgresImage: the major's image)
		}
		assert.NotContains(t, string(project), version, s.Name)
		assert.NotContains(t, readmeTable, version, s.Name)
	}
	for major, image := range pins.PostgresImages {
		assert.NotContains(t, string(project), image, "PostgreSQL %d", major)
		assert.NotContains(t, readmeTable, image, "PostgreSQL %d", major)
	}
}
