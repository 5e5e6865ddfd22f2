package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// TestE2EDriverRunsOneCLIProcessPerOperation runs the driver's operations (`make up`,
// `make preview`) on the real engine and counts the CLI processes they start: a fresh
// up, a no-op up and a preview are one process each, with the program served from this
// process. The no-op changes no object; a checkpoint left empty, as a kill during its
// write left one, is reported by the up's check and restored by the recovery, after
// which one up converges.
func TestE2EDriverRunsOneCLIProcessPerOperation(t *testing.T) {
	s, ctx := freshE2EStack(t, "driver", 8*time.Minute)
	cliCalls := recordPulumiCalls(t)

	var out bytes.Buffer
	require.NoError(t, s.CLIUp(ctx, &out), out.String())
	assert.Equal(t, []string{"up"}, cliCalls(), "a fresh up")
	assert.Contains(t, out.String(), "Outputs:", "the CLI's own progress shows the outputs")
	assert.True(t, exists(t, "deployment", "backstage"))

	before := resourceVersions(t)
	out.Reset()
	require.NoError(t, s.CLIUp(ctx, &out), out.String())
	assert.Equal(t, []string{"up"}, cliCalls(), "a no-op up")
	assert.Equal(t, before, resourceVersions(t), "a no-op up writes no object")
	assert.NotRegexp(t, `\d+ (to )?(create|update|replace|delete)`, out.String())

	out.Reset()
	require.NoError(t, s.CLIPreview(ctx, &out, "--diff"), out.String())
	assert.Equal(t, []string{"preview"}, cliCalls(), "a preview")
	assert.Contains(t, out.String(), "unchanged")

	require.NoError(t, os.Truncate(checkpointFile(s), 0))
	interrupted, err := s.Interrupted()
	require.NoError(t, err)
	assert.Contains(t, interrupted, "does not read", "the up's check stops at an empty checkpoint")
	var log bytes.Buffer
	require.NoError(t, s.Recover(ctx, false, &log), log.String())
	assert.Contains(t, log.String(), "restored the backend's backup")
	out.Reset()
	require.NoError(t, s.CLIUp(ctx, &out), out.String())
	pending, err := s.PendingOperations()
	require.NoError(t, err)
	assert.Zero(t, pending)
	assert.Equal(t, before, resourceVersions(t), "the restored state still owns every object: nothing was recreated")
}

// checkpointFile is where the file backend keeps the stack's state.
func checkpointFile(s *stackrun.Stack) string {
	return filepath.Join(s.StateDir, ".pulumi", "stacks", stackrun.Project, s.Name()+".json")
}

// recordPulumiCalls puts a `pulumi` on PATH that logs its subcommand and runs the real
// CLI; the function returns the subcommands run since it was last called.
func recordPulumiCalls(t *testing.T) func() []string {
	t.Helper()
	real, err := exec.LookPath("pulumi")
	require.NoError(t, err)
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	shim := "#!/bin/sh\nfor a in \"$@\"; do case $a in --*) ;; *) echo \"$a\" >>" + log + "; break;; esac; done\nexec " + real + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pulumi"), []byte(shim), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		data, _ := os.ReadFile(log)
		_ = os.Remove(log)
		return strings.Fields(string(data))
	}
}
