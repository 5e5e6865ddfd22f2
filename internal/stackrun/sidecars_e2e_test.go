//go:build e2e

package stackrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheCLILoadsAStackAgainOnceItsCutShortSidecarIsRemoved shows, with the real CLI and
// file backend, the failure a kill between fileblob's two writes leaves (the sidecar
// empty beside a checkpoint that reads) and that removing the sidecar is the fix.
func TestTheCLILoadsAStackAgainOnceItsCutShortSidecarIsRemoved(t *testing.T) {
	if _, err := exec.LookPath("pulumi"); err != nil {
		t.Skip("needs the Pulumi CLI on PATH (make tools)")
	}
	state, work := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "Pulumi.yaml"), []byte("name: "+Project+"\nruntime: go\n"), 0o600))
	pulumi := func(args ...string) (string, error) {
		cmd := exec.Command("pulumi", append([]string{"--non-interactive"}, args...)...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+state, "PULUMI_CONFIG_PASSPHRASE=test",
			"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := pulumi("stack", "init", "dev")
	require.NoError(t, err, out)
	_, err = pulumi("stack", "export", "--stack", "dev")
	require.NoError(t, err)

	sidecar := checkpointPath(state, "dev") + sidecarExt
	require.FileExists(t, sidecar, "the file backend writes a sidecar beside the checkpoint")
	require.NoError(t, os.WriteFile(sidecar, nil, 0o600), "as fileblob's os.Create leaves it when killed before it writes")
	_, err = readDeployment(checkpointPath(state, "dev"))
	require.NoError(t, err, "the checkpoint itself still reads")
	out, err = pulumi("stack", "export", "--stack", "dev")
	require.Error(t, err)
	assert.Contains(t, out, "EOF", "the CLI cannot load the stack")

	removed, err := removeUnreadableSidecars(state, "dev")
	require.NoError(t, err)
	assert.Len(t, removed, 1)
	out, err = pulumi("stack", "export", "--stack", "dev")
	require.NoError(t, err, "the CLI loads the stack without the sidecar: %s", out)
}
