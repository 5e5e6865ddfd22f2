//go:build e2e

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// TestE2EDriver runs the driver's operations (`make up`, `make preview`, `make
// recover`) on the real engine, on one stack whose steps run in order:
//   - a fresh up, a no-op up and a preview start one CLI process each (the program is
//     served from this process), and the no-op writes no object;
//   - `make up`'s summary reads the stack's plain outputs from the checkpoint, as the CLI
//     shows them;
//   - a checkpoint left empty, as a kill during its write left one, is reported by the
//     up's check and restored by the recovery, and the next up recreates nothing;
//   - an up that did not finish makes the next preview and up refresh first: an up
//     cancelled while the provider waited for a rollout had left the new image in the
//     cluster and the old one in the state, and the next up reported nothing to do.
func TestE2EDriver(t *testing.T) {
	s, ctx := freshE2EStack(t, "driver", 8*time.Minute)
	step := inOrder(t)
	var before map[string]string

	step("one CLI process per operation", func(t *testing.T) {
		cliCalls := recordPulumiCalls(t)
		var out bytes.Buffer
		require.NoError(t, s.CLIUp(ctx, &out), out.String())
		assert.Equal(t, []string{"up"}, cliCalls(), "a fresh up")
		assert.Contains(t, out.String(), "Outputs:", "the CLI's own progress shows the outputs")
		assert.True(t, exists(t, "deployment", "backstage"))

		before = resourceVersions(t)
		out.Reset()
		require.NoError(t, s.CLIUp(ctx, &out), out.String())
		assert.Equal(t, []string{"up"}, cliCalls(), "a no-op up")
		assert.Equal(t, before, resourceVersions(t), "a no-op up writes no object")
		assert.NotRegexp(t, `\d+ (to )?(create|update|replace|delete)`, out.String())

		out.Reset()
		require.NoError(t, s.CLIPreview(ctx, &out, "--diff"), out.String())
		assert.Equal(t, []string{"preview"}, cliCalls(), "a preview")
		assert.Contains(t, out.String(), "unchanged")

		// `make up` prints its summary for the namespace the checkpoint names.
		outputs, err := s.Outputs(ctx)
		require.NoError(t, err)
		require.Contains(t, outputs, "namespace")
		for name, output := range outputs {
			value, err := stackrun.PlainOutput(s.StateDir, s.Name(), name)
			if output.Secret {
				assert.ErrorContains(t, err, "is a secret", name)
				continue
			}
			require.NoError(t, err, name)
			assert.Equal(t, output.Value, value, "%s: the checkpoint's value is the CLI's", name)
		}
	})

	step("an empty checkpoint is restored from the backend's backup", func(t *testing.T) {
		require.NoError(t, os.Truncate(checkpointFile(s), 0))
		interrupted, err := s.Interrupted()
		require.NoError(t, err)
		assert.Contains(t, interrupted, "does not read", "the up's check stops at an empty checkpoint")
		var log bytes.Buffer
		require.NoError(t, s.Recover(ctx, false, &log), log.String())
		assert.Contains(t, log.String(), "restored the backend's backup")
		require.NoError(t, cliUp(ctx, s))
		pending, err := s.PendingOperations()
		require.NoError(t, err)
		assert.Zero(t, pending)
		assert.Equal(t, before, resourceVersions(t), "the restored state still owns every object: nothing was recreated")
	})

	step("an up that did not finish is followed by a refresh", func(t *testing.T) {
		// The cluster gets the change the way the cancelled up applied it.
		applyImageAsTheStack(t, "ghcr.io/arhean/backstage:9.9.9")
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		require.Error(t, s.CLIUp(cancelled, io.Discard), "an up that does not finish")

		var out bytes.Buffer
		require.NoError(t, s.CLIPreview(ctx, &out), out.String())
		assert.Contains(t, out.String(), "refreshes from the cluster first")
		assert.Regexp(t, `~ 1 to update`, out.String(), "the preview sees the cluster's image")

		out.Reset()
		require.NoError(t, s.CLIUp(ctx, &out), out.String())
		assert.Contains(t, out.String(), "refreshes from the cluster first")
		assert.Equal(t, "ghcr.io/arhean/backstage:1.0.0", fieldString(object(t, "deployment", "backstage"), "spec", "template", "spec", "containers", "0", "image"))

		out.Reset()
		require.NoError(t, s.CLIUp(ctx, &out), out.String())
		assert.NotContains(t, out.String(), "refreshes from the cluster first", "a successful up clears the mark")
	})
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

// applyImageAsTheStack applies the e2e Deployment with another image under the stack's
// own field manager, as an up that was then cancelled had applied it.
func applyImageAsTheStack(t *testing.T, image string) {
	t.Helper()
	managers := providerManagers(t)
	require.Len(t, managers, 1)
	live, err := kubectl(t, "get", "deployment", "backstage", "-n", e2eNamespace, "-o", "json")
	require.NoError(t, err)
	var deployment map[string]any
	require.NoError(t, json.Unmarshal([]byte(live), &deployment))
	delete(deployment, "status")
	metadata := deployment["metadata"].(map[string]any)
	for _, generated := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		delete(metadata, generated)
	}
	delete(metadata["annotations"].(map[string]any), "deployment.kubernetes.io/revision")
	field(deployment, "spec", "template", "spec", "containers", "0").(map[string]any)["image"] = image
	manifest, err := json.Marshal(deployment)
	require.NoError(t, err)
	cmd := exec.Command("kubectl", "apply", "--server-side", "--field-manager="+managers[0], "-f", "-")
	cmd.Stdin = bytes.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, image, fieldString(object(t, "deployment", "backstage"), "spec", "template", "spec", "containers", "0", "image"))
}

// An up whose program refuses the configuration applied nothing, so it leaves no mark
// that would make the next run refresh; a mark an earlier unfinished up left stays
// until an up finishes. (The lifecycle test's refused ups used to leave the mark, and
// the refresh it caused planned an update of the database in the next step.)
func TestAnUpRefusedByItsConfigurationLeavesNoUnfinishedMark(t *testing.T) {
	s := stackFrom(t, "local", "refused")
	ctx := context.Background()
	require.NoError(t, s.SetConfig(ctx, "backstage:replicas", auto.ConfigValue{Value: "0"}))
	mark := filepath.Join(s.StateDir, "unfinished-up-"+s.Name())

	err := cliUp(ctx, s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:replicas:")
	assert.NoFileExists(t, mark, "nothing was applied, so the next run need not refresh")

	require.NoError(t, os.WriteFile(mark, nil, 0o600))
	require.Error(t, cliUp(ctx, s))
	assert.FileExists(t, mark, "an earlier unfinished up's mark stays")
}
