//go:build e2e

package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// TestE2EInterruptedDeploysRecover kills the engine (SIGKILL of the pulumi process) part
// way through a fresh up, an image bump and a database settings change (each run as the
// driver's `make up` runs it, one CLI process) and a destroy, at
// several points of each, then recovers and deploys again. After every trial the stack
// converges, no operation stays pending, a second up changes nothing, and the database's
// objects keep their uids and its passwords their values.
func TestE2EInterruptedDeploysRecover(t *testing.T) {
	s, ctx := freshE2EStack(t, "faults", 12*time.Minute)

	type trial struct {
		op    string
		delay time.Duration
	}
	var trials []trial
	for _, op := range []string{"fresh up", "image bump", "database setting", "destroy"} {
		for _, delay := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond, 1600 * time.Millisecond} {
			trials = append(trials, trial{op, delay})
		}
	}
	outcomes := map[string]int{}
	for i, tr := range trials {
		name := fmt.Sprintf("%02d %s killed after %v", i+1, tr.op, tr.delay)
		ok := t.Run(name, func(t *testing.T) {
			// Every trial starts from a deployed stack, except a fresh up's.
			if tr.op == "fresh up" {
				_, err := s.Destroy(ctx)
				require.NoError(t, err)
				resetNamespace(t)
			} else {
				require.NoError(t, cliUp(ctx, s))
			}
			before := databaseIdentity(t, tr.op != "fresh up")

			var run func() error
			switch tr.op {
			case "fresh up":
				run = func() error { return s.CLIUp(ctx, io.Discard) }
			case "image bump":
				require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: fmt.Sprintf("ghcr.io/arhean/backstage:1.0.%d", i+1)}))
				run = func() error { return s.CLIUp(ctx, io.Discard) }
			case "database setting":
				require.NoError(t, s.SetConfig(ctx, "backstage:postgresMaxConnections", auto.ConfigValue{Value: strconv.Itoa(100 + i)}))
				run = func() error { return s.CLIUp(ctx, io.Discard) }
			case "destroy":
				run = func() error { _, err := s.Destroy(ctx); return err }
			}
			killed := runAndKillEngine(t, run, tr.delay)
			outcome := "completed before the kill"
			if killed {
				outcome = "killed mid-operation"
			}
			outcomes[outcome]++

			interrupted, err := s.Interrupted()
			require.NoError(t, err)
			if interrupted != "" {
				outcomes["left a lock or pending operations"]++
			}
			var log bytes.Buffer
			require.NoError(t, s.Recover(ctx, false, &log),
				"the holder of the lock is provably gone, so no FORCE is needed:\n%s", log.String())

			require.NoError(t, cliUp(ctx, s), "one up converges after the recovery")
			again, err := s.Up(ctx)
			require.NoError(t, err)
			changes := *again.Summary.ResourceChanges
			assert.Equal(t, map[string]int{"same": changes["same"]}, changes, "a second up changes nothing")
			pending, err := s.PendingOperations()
			require.NoError(t, err)
			assert.Zero(t, pending)

			after := databaseIdentity(t, true)
			for key, value := range before {
				assert.Equal(t, value, after[key], "%s survived the interruption", key)
			}
			assertNoDuplicateURNs(t, s)
		})
		if !ok {
			outcomes["failed"]++
		}
	}
	t.Logf("%d trials: %v", len(trials), outcomes)
	assert.Positive(t, outcomes["killed mid-operation"], "some kills must land mid-operation, or the test proves nothing")
	assert.Positive(t, outcomes["left a lock or pending operations"], "some kills must leave a lock behind")
}

// runAndKillEngine runs op and SIGKILLs the pulumi CLI it starts after delay; it says
// whether the kill landed while the operation ran.
func runAndKillEngine(t *testing.T, op func() error, delay time.Duration) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		require.NoError(t, err)
		return false
	case <-time.After(delay):
	}
	pids := engineProcesses(t)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	err := <-done
	if len(pids) == 0 {
		require.NoError(t, err)
		return false
	}
	return err != nil
}

// engineProcesses are this test's pulumi CLI children running up or destroy.
func engineProcesses(t *testing.T) []int {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid()), "-f", `pulumi( --[a-z-]+)* (up|destroy) `).Output()
	var pids []int
	for _, field := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(field)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

// databaseIdentity is what must never change: the uids of the StatefulSet, claim and
// password Secrets, and the passwords.
func databaseIdentity(t *testing.T, deployed bool) map[string]string {
	if !deployed {
		return nil
	}
	id := map[string]string{}
	for _, ref := range [][2]string{{"statefulset", "psql-postgresql"}, {"pvc", "data-psql-postgresql-0"},
		{"secret", "psql-postgresql"}, {"secret", "psql-postgresql-bootstrap"}} {
		id[ref[0]+"/"+ref[1]] = fieldString(object(t, ref[0], ref[1]), "metadata", "uid")
	}
	id["app password"] = fieldString(object(t, "secret", "psql-postgresql"), "data", "password")
	id["superuser password"] = fieldString(object(t, "secret", "psql-postgresql-bootstrap"), "data", "password")
	return id
}

func assertNoDuplicateURNs(t *testing.T, s *stackrun.Stack) {
	seen := map[string]int{}
	for _, res := range exportResources(t, s.Stack) {
		seen[res.URN]++
	}
	for urn, n := range seen {
		assert.Equal(t, 1, n, "%s is in the state %d times", urn, n)
	}
}

// TestE2EAnUpThatLosesTheAPIServerRecovers stops the API server (SIGKILL, as a crashed
// or restarted control plane) part-way through a fresh up and brings it back after an
// outage. The up either rides the outage out or fails with an error that names the
// unreachable server; then one recovery and one up converge, and a second up changes
// nothing.
func TestE2EAnUpThatLosesTheAPIServerRecovers(t *testing.T) {
	s, ctx := freshE2EStack(t, "apiserver", 8*time.Minute)
	pidFile := filepath.Join(filepath.Dir(os.Getenv("KUBECONFIG")), "pids", "kube-apiserver")
	if _, err := os.Stat(pidFile); err != nil {
		t.Skipf("the API server is not the local control plane's (%v): this test stops and restarts it", err)
	}
	restart := func() {
		out, err := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), "up").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	t.Cleanup(restart) // whatever happens, the other tests get their API server back

	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- cliUp(ctx, s) }()
	time.Sleep(1500 * time.Millisecond)
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	t.Logf("killed the API server (pid %d) %.1fs into a fresh up", pid, time.Since(started).Seconds())

	var upErr error
	select {
	case upErr = <-done:
		t.Logf("the up failed during the outage after %.1fs", time.Since(started).Seconds())
	case <-time.After(5 * time.Second):
		restart()
		t.Logf("the API server is back after %.1fs", time.Since(started).Seconds())
		upErr = <-done
	}
	t.Logf("the up returned after %.1fs: %v", time.Since(started).Seconds(), firstLine(upErr))
	if upErr != nil {
		assert.Regexp(t, `connection refused|127\.0\.0\.1:6443|unable to connect|the server is currently unable`, upErr.Error(),
			"the error names the unreachable API server")
	}
	restart()

	var recovery bytes.Buffer
	step, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Recover(step, false, &recovery), recovery.String())
	require.NoError(t, cliUp(step, s), "one up converges once the API server is back")
	preview, err := s.Preview(step)
	require.NoError(t, err)
	assertNothingReplacedOrDeleted(t, preview.ChangeSummary, "a second run")
	assert.Zero(t, preview.ChangeSummary["update"], "%v", preview.ChangeSummary)
	pending, err := s.PendingOperations()
	require.NoError(t, err)
	assert.Zero(t, pending)
	assertNoDuplicateURNs(t, s)
}

func firstLine(err error) string {
	if err == nil {
		return "no error"
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
