//go:build e2e

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// TestE2EAnInterruptedCreateLeavesNoSecondFieldManager puts the state where a create
// killed after it reached the cluster leaves it: the Deployment exists under the field
// manager its create drew, and the state holds only a pending create for it. After the
// recovery (`make recover`, and the recover workflow's script with the CLI) and the up
// that adopts it, an image bump applies without an apply conflict, and the Deployment
// has one provider manager, the state's.
func TestE2EAnInterruptedCreateLeavesNoSecondFieldManager(t *testing.T) {
	recoveries := []struct {
		name    string
		recover func(t *testing.T, ctx context.Context, s *stackrun.Stack) string
	}{
		{"make recover", func(t *testing.T, ctx context.Context, s *stackrun.Stack) string {
			var log bytes.Buffer
			require.NoError(t, s.Recover(ctx, false, &log), log.String())
			return log.String()
		}},
		{"the recover workflow's script", func(t *testing.T, ctx context.Context, s *stackrun.Stack) string {
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "hack", "recover-stack.sh"), s.Name())
			cmd.Dir = s.WorkDir
			cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+s.StateDir, "PULUMI_CONFIG_PASSPHRASE="+stackrun.LocalPassphrase)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			return string(out)
		}},
	}
	s, ctx := freshE2EStack(t, "orphan", 6*time.Minute)
	require.NoError(t, cliUp(ctx, s))
	uid := fieldString(object(t, "deployment", "backstage"), "metadata", "uid")
	// One stack for both ways, one after the other: each leaves the Deployment with one
	// manager, which the next puts back into a pending create.
	step := inOrder(t)
	for i, recovery := range recoveries {
		step(recovery.name, func(t *testing.T) {
			// The file backend's checkpoint, edited in place: `pulumi stack import`
			// drops pending operations.
			path := checkpointFile(s)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var checkpoint map[string]any
			require.NoError(t, json.Unmarshal(data, &checkpoint))
			moveToPendingCreate(t, field(checkpoint, "checkpoint", "latest").(map[string]any), "kubernetes:apps/v1:Deployment")
			data, err = json.Marshal(checkpoint)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, data, 0o600))
			pending, err := s.PendingOperations()
			require.NoError(t, err)
			require.Equal(t, 1, pending)
			killedCreatesManager := providerManagers(t)
			require.Len(t, killedCreatesManager, 1)

			log := recovery.recover(t, ctx, s)
			assert.Contains(t, log, "dropped the field manager "+killedCreatesManager[0])
			require.NoError(t, cliUp(ctx, s), "the up adopts the Deployment")
			assert.Equal(t, uid, fieldString(object(t, "deployment", "backstage"), "metadata", "uid"), "adopted, not recreated")

			image := fmt.Sprintf("ghcr.io/arhean/backstage:1.0.%d", 77+i)
			require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: image}))
			require.NoError(t, cliUp(ctx, s), "an image bump after the adoption applies without a conflict")
			assert.Equal(t, image, fieldString(object(t, "deployment", "backstage"), "spec", "template", "spec", "containers", "0", "image"))
			after := providerManagers(t)
			require.Len(t, after, 1, "only the state's manager owns the Deployment's fields")
			assert.NotEqual(t, killedCreatesManager[0], after[0])
		})
	}
}

// moveToPendingCreate takes the one resource of the type out of the state's resources
// and records it as an operation the engine was creating, dropping it from the other
// resources' dependencies, as a create killed before the state recorded it leaves it.
func moveToPendingCreate(t *testing.T, deployment map[string]any, typ string) {
	t.Helper()
	resources := deployment["resources"].([]any)
	var kept []any
	var moved map[string]any
	for _, r := range resources {
		res := r.(map[string]any)
		if res["type"] == typ {
			require.Nil(t, moved, "one %s in the state", typ)
			moved = res
			continue
		}
		kept = append(kept, res)
	}
	require.NotNil(t, moved, typ)
	urn := moved["urn"].(string)
	for _, r := range kept {
		res := r.(map[string]any)
		if deps, ok := res["dependencies"].([]any); ok {
			res["dependencies"] = without(deps, urn)
		}
		if byProp, ok := res["propertyDependencies"].(map[string]any); ok {
			for k, deps := range byProp {
				byProp[k] = without(deps.([]any), urn)
			}
		}
	}
	deployment["resources"] = kept
	deployment["pending_operations"] = []any{map[string]any{"resource": moved, "type": string(apitype.OperationTypeCreating)}}
}

// without is list less value, never nil: the state writes an empty list, not null.
func without(list []any, value string) []any {
	return slices.DeleteFunc(append([]any{}, list...), func(v any) bool { return v == value })
}

// providerManagers are the provider's field managers on the e2e Deployment.
func providerManagers(t *testing.T) []string {
	t.Helper()
	out, err := kubectl(t, "get", "deployment", "backstage", "-n", e2eNamespace, "-o", "json", "--show-managed-fields")
	require.NoError(t, err)
	var deployment map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &deployment))
	var managers []string
	for _, entry := range field(deployment, "metadata", "managedFields").([]any) {
		if manager, _ := entry.(map[string]any)["manager"].(string); strings.HasPrefix(manager, "pulumi-kubernetes-") {
			managers = append(managers, manager)
		}
	}
	return managers
}
