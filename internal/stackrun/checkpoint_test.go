package stackrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A checkpoint as the file backend writes it, with n pending operations.
func checkpointJSON(pending int) string {
	ops := ""
	for i := range pending {
		if i > 0 {
			ops += ","
		}
		ops += `{"resource":{"urn":"urn:pulumi:dev::backstage::kubernetes:apps/v1:Deployment::backstage","custom":true,"type":"kubernetes:apps/v1:Deployment"},"type":"updating"}`
	}
	return `{"version":3,"checkpoint":{"stack":"organization/backstage/dev","latest":{"manifest":{"time":"2026-11-28T10:46:06Z","magic":"","version":"v3.274.1"},"pending_operations":[` + ops + `]}}}`
}

func writeCheckpoint(t *testing.T, state, suffix, content string) string {
	t.Helper()
	path := checkpointPath(state, "dev") + suffix
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// namedAs is a stack of that name whose workspace runs nothing: selecting an existing
// stack, as Select does, costs no CLI process.
func namedAs(t *testing.T, name string) auto.Stack {
	t.Helper()
	s, err := auto.SelectStack(context.Background(), name, namedStack{})
	require.NoError(t, err)
	return s
}

func TestPendingOperationsAreReadFromTheCheckpointFile(t *testing.T) {
	state := t.TempDir()
	s := &Stack{Stack: namedAs(t, "dev"), StateDir: state}

	pending, err := s.PendingOperations()
	require.NoError(t, err)
	assert.Zero(t, pending, "a stack the backend does not hold yet has nothing pending")

	writeCheckpoint(t, state, "", checkpointJSON(2))
	pending, err = s.PendingOperations()
	require.NoError(t, err)
	assert.Equal(t, 2, pending)

	writeCheckpoint(t, state, "", "")
	_, err = s.PendingOperations()
	require.ErrorIs(t, err, errUnreadableCheckpoint, "an empty file is a write cut short")
	interrupted, err := s.Interrupted()
	require.NoError(t, err)
	assert.Contains(t, interrupted, "the stack's state does not read")
}

func TestAnUnreadableCheckpointIsReplacedByItsBackup(t *testing.T) {
	state := t.TempDir()
	path := writeCheckpoint(t, state, "", `{"version":3,"checkp`)
	writeCheckpoint(t, state, ".bak", checkpointJSON(1))
	writeCheckpoint(t, state, ".bak.attrs", `{"md5":"of the backup"}`)

	said, err := restoreCheckpointBackup(state, "dev")
	require.NoError(t, err)
	assert.Contains(t, said, "restored the backend's backup")
	deployment, err := readDeployment(path)
	require.NoError(t, err)
	assert.Len(t, deployment.PendingOperations, 1, "the backup's state is the stack's now")
	attrs, err := os.ReadFile(path + ".attrs")
	require.NoError(t, err)
	assert.JSONEq(t, `{"md5":"of the backup"}`, string(attrs), "the blob attributes describe the restored file")
	kept, err := filepath.Glob(path + ".unreadable-*")
	require.NoError(t, err)
	require.Len(t, kept, 1, "the unreadable file is kept for a post-mortem")

	said, err = restoreCheckpointBackup(state, "dev")
	require.NoError(t, err)
	assert.Empty(t, said, "a checkpoint that reads is left alone")
}

func TestNoBackupToRestoreNamesTheHistoryToCopyFrom(t *testing.T) {
	state := t.TempDir()
	writeCheckpoint(t, state, "", "")
	_, err := restoreCheckpointBackup(state, "dev")
	require.ErrorIs(t, err, errUnreadableCheckpoint)
	assert.Contains(t, err.Error(), filepath.Join(state, ".pulumi", "history", Project, "dev"))
	assert.Contains(t, err.Error(), "checkpoint.json")
}
