package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hack/processes.sh's pid_alive takes a killed process that is still a zombie for gone:
// the control plane's components are orphans that init reaps late, and a restart right
// after a kill (the API-server outage test) must start the component again rather than
// wait 120 s on a zombie. The zombie here has a parent that never reaps it.
func TestPidAliveTakesAZombieForGone(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "pids"), 0o755))
	parent := exec.Command("bash", "-c", `sleep 600 & echo $! >"$0/pids/child.tmp" && mv "$0/pids/child.tmp" "$0/pids/child"; exec sleep 600`, dir)
	require.NoError(t, parent.Start())
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })

	alive := func() bool {
		return exec.Command("bash", "-c", `dir=$0; source "$1"; pid_alive child`, dir, filepath.Join(repoRoot, "hack", "processes.sh")).Run() == nil
	}
	var pid int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "pids", "child"))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	require.True(t, alive(), "a running process is alive")

	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err == nil && strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))[0] == "Z"
	}, 10*time.Second, 50*time.Millisecond, "the killed child is a zombie of a parent that does not reap")
	require.False(t, alive(), "a zombie is gone: kill -0 alone would call it alive")
}

// A pid file whose pid another process now has (pid_max is 32768 here, and pids come
// round quickly under a build) is not the component: the start time recorded beside it
// differs.
func TestPidAliveTakesAReusedPidForGone(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "pids"), 0o755))
	script := `dir=$0; source "$1"; run_component c sleep 600; pid_alive c && echo alive; ` +
		`echo 1 >"$dir/pids/c.start"; pid_alive c || echo reused; kill "$(cat "$dir/pids/c")"`
	require.NoError(t, os.Mkdir(filepath.Join(dir, "logs"), 0o755))
	out, err := exec.Command("bash", "-c", script, dir, filepath.Join(repoRoot, "hack", "processes.sh")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "alive\nreused\n", string(out), "the component it started is alive; another start time is another process")
}
