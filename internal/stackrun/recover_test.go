package stackrun

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lock is cleared on its own only when its holder is provably gone: this host, and no
// process with its pid.
func TestALockIsGoneOnlyWhenItsHolderProvablyIs(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	exited := exec.Command("true")
	require.NoError(t, exited.Run())

	assert.True(t, Lock{Hostname: host, Pid: exited.Process.Pid}.Gone(), "this host, the process exited")
	assert.False(t, Lock{Hostname: host, Pid: os.Getpid()}.Gone(), "this host, the process runs")
	assert.False(t, Lock{Hostname: "ci-runner-7", Pid: exited.Process.Pid}.Gone(), "another host can never be proven gone")
	assert.False(t, Lock{Hostname: host, Pid: 0}.Gone())
}

func TestLocksReadsTheFileBackendsLockFiles(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, ".pulumi", "locks", "organization", "backstage", "prod")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	want := Lock{Pid: 4242, Username: "runner", Hostname: "ci-runner-7", Timestamp: time.Date(2026, 11, 28, 3, 17, 0, 0, time.UTC)}
	data, err := json.Marshal(want)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0f2c.json"), data, 0o600))

	locks, err := Locks(state, "prod")
	require.NoError(t, err)
	require.Len(t, locks, 1)
	assert.Equal(t, want.Pid, locks[0].Pid)
	assert.Equal(t, "runner@ci-runner-7 (pid 4242) since 2026-11-28T03:17:00Z", locks[0].String())

	none, err := Locks(state, "dev")
	require.NoError(t, err)
	assert.Empty(t, none, "a stack never locked has no lock folder")
}
