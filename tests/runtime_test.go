package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/config"
)

type projectRuntime struct {
	Runtime struct {
		Name    string         `yaml:"name"`
		Options map[string]any `yaml:"options"`
	} `yaml:"runtime"`
}

func readRuntime(t *testing.T, path string) projectRuntime {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var p projectRuntime
	require.NoError(t, yaml.Unmarshal(data, &p))
	return p
}

// A user's `pulumi preview` builds the program to a fixed, git-ignored file, so that Go
// relinks nothing when the sources have not changed; the workflows' prebuilt-program
// action replaces that option with their binary, and the two never meet (the Go
// language host refuses both at once).
func TestPreviewsBuildToAFixedTargetAndTheWorkflowsSwapItForTheirBinary(t *testing.T) {
	project := filepath.Join(repoRoot, "Pulumi.yaml")
	local := readRuntime(t, project)
	assert.Equal(t, "go", local.Runtime.Name)
	assert.Equal(t, map[string]any{"buildTarget": config.ProgramBuildTarget}, local.Runtime.Options)
	ignored := exec.Command("git", "check-ignore", "-q", config.ProgramBuildTarget)
	ignored.Dir = repoRoot
	assert.NoError(t, ignored.Run(), "%s is git-ignored, so a build never lands in a commit", config.ProgramBuildTarget)

	action, err := os.ReadFile(filepath.Join(repoRoot, ".github", "actions", "prebuilt-program", "action.yml"))
	require.NoError(t, err)
	swap := regexp.MustCompile(`(?m)^\s*(sed -i .* Pulumi\.yaml)$`).FindSubmatch(action)
	require.NotNil(t, swap, "the action edits Pulumi.yaml with sed")
	work := t.TempDir()
	data, err := os.ReadFile(project)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "Pulumi.yaml"), data, 0o600))
	cmd := exec.Command("bash", "-c", string(swap[1]))
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	ci := readRuntime(t, filepath.Join(work, "Pulumi.yaml"))
	assert.Equal(t, "go", ci.Runtime.Name)
	assert.Equal(t, map[string]any{"binary": "bin/backstage"}, ci.Runtime.Options, "binary replaces buildTarget")
}
