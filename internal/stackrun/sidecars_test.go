package stackrun

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSidecarsAnInterruptedWriteCutShortAreRemovedAndNoOthers(t *testing.T) {
	state := t.TempDir()
	s := &Stack{Stack: namedAs(t, "dev"), StateDir: state}
	checkpoint := writeCheckpoint(t, state, "", checkpointJSON(0))
	good := writeCheckpoint(t, state, ".bak.attrs", `{"user.content_type":"application/octet-stream","md5":"AAAA"}`)
	history := filepath.Join(state, ".pulumi", "history", Project, "dev")
	require.NoError(t, os.MkdirAll(history, 0o700))
	cutShort := filepath.Join(history, "dev-1764758400.checkpoint.json.attrs")
	require.NoError(t, os.WriteFile(cutShort, []byte(`{"user.cache_control":"","user.con`), 0o600))
	other := writeCheckpointOf(t, state, "other", ".json.attrs", "")

	interrupted, err := s.Interrupted()
	require.NoError(t, err)
	assert.Empty(t, interrupted, "a readable checkpoint sidecar and no lock: nothing interrupted")

	empty := writeCheckpoint(t, state, ".attrs", "")
	interrupted, err = s.Interrupted()
	require.NoError(t, err)
	assert.Contains(t, interrupted, "does not read", "the CLI cannot load a checkpoint whose sidecar is empty")

	said, err := removeUnreadableSidecars(state, "dev")
	require.NoError(t, err)
	assert.Len(t, said, 2)
	assert.NoFileExists(t, empty)
	assert.NoFileExists(t, cutShort)
	assert.FileExists(t, good, "a sidecar that reads is kept")
	assert.FileExists(t, checkpoint, "the checkpoint itself is never touched")
	assert.FileExists(t, other, "another stack's files are not this recovery's")

	interrupted, err = s.Interrupted()
	require.NoError(t, err)
	assert.Empty(t, interrupted)
}

func writeCheckpointOf(t *testing.T, state, stack, suffix, content string) string {
	t.Helper()
	path := filepath.Join(state, ".pulumi", "stacks", Project, stack+suffix)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}
