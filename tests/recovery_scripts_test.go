//go:build e2e

package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The workflows' interrupted-deploy check and recovery run with the real CLI against an
// object-store-style backend (a file backend here): a state that a killed deploy left,
// with a pending create and the lock of a runner that is gone.
func TestWorkflowRecoveryScriptsOnAnInterruptedStack(t *testing.T) {
	requireTool(t, "pulumi")
	project := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: backstage\nruntime: go\n"), 0o600))
	state := filepath.Join(project, "state")
	require.NoError(t, os.Mkdir(state, 0o700))
	run := func(args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+state, "PULUMI_CONFIG_PASSPHRASE=recovery-test",
			"PULUMI_SKIP_UPDATE_CHECK=1", "PULUMI_HOME="+filepath.Join(project, "home"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	script := func(name string, args ...string) (string, error) {
		return run(append([]string{"bash", filepath.Join(repoRoot, "hack", name)}, args...)...)
	}
	const stack = "organization/backstage/dev"
	out, err := run("pulumi", "stack", "init", stack, "--non-interactive")
	require.NoError(t, err, out)

	out, err = script("interrupted.sh", stack)
	require.NoError(t, err, out)
	assert.Contains(t, out, "no interrupted deploy")

	// What a runner killed in the middle of a create leaves: a pending operation in the
	// checkpoint and its lock file.
	checkpoint := filepath.Join(state, ".pulumi", "stacks", "backstage", "dev.json")
	data, err := os.ReadFile(checkpoint)
	require.NoError(t, err)
	var file map[string]any
	require.NoError(t, json.Unmarshal(data, &file))
	latest := file["checkpoint"].(map[string]any)["latest"].(map[string]any)
	latest["pending_operations"] = []any{map[string]any{"type": "creating", "resource": map[string]any{
		"urn": "urn:pulumi:dev::backstage::kubernetes:core/v1:ConfigMap::cm", "custom": true, "type": "kubernetes:core/v1:ConfigMap",
	}}}
	data, err = json.Marshal(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(checkpoint, data, 0o600))
	locks := filepath.Join(state, ".pulumi", "locks", "organization", "backstage", "dev")
	require.NoError(t, os.MkdirAll(locks, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(locks, "runner.json"),
		[]byte(`{"pid":4242,"username":"runner","hostname":"a-runner-that-died","timestamp":"2026-11-28T05:00:00Z"}`), 0o600))

	out, err = script("interrupted.sh", stack)
	require.Error(t, err, "the deploy stops before it starts")
	assert.Contains(t, out, "::error title=Interrupted deploy of dev::")
	assert.Contains(t, out, "1 pending operations")
	assert.Contains(t, out, "run the recover workflow")

	out, err = script("recover-stack.sh", stack)
	require.Error(t, err, "a lock is never cleared without force")
	assert.Contains(t, out, "currently locked")
	assert.Contains(t, out, "again with force")
	_, statErr := os.Stat(filepath.Join(locks, "runner.json"))
	assert.NoError(t, statErr, "the lock is still there")

	out, err = script("recover-stack.sh", stack, "true")
	require.NoError(t, err, out)
	assert.Contains(t, out, "holds no pending operation")
	entries, _ := os.ReadDir(locks)
	assert.Empty(t, entries, "force cleared the lock")

	out, err = script("interrupted.sh", stack)
	require.NoError(t, err, out)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "no interrupted deploy"), out)
}
