//go:build e2e

package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kube-score judges the objects every stack declares, dev and prod included (their
// charts and CA need plugins this machine lacks, so their objects come from the mock
// run; `make lint-manifests` scores the local stack as the real provider renders it).
// Checks skipped on purpose carry a kube-score/ignore annotation with the reason.
func TestKubeScoreFindsNothingCritical(t *testing.T) {
	requireTool(t, "kube-score")
	for _, stack := range []string{"kind", "dev", "prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, stack))
			dir := t.TempDir()
			var files []string
			for _, res := range rec.Registrations() {
				if !strings.HasPrefix(res.Type, "kubernetes:") || str(res.Inputs, "kind") == "" || res.Type == typeCustom {
					continue
				}
				data, err := json.Marshal(plain(get(res.Inputs)))
				require.NoError(t, err)
				file := filepath.Join(dir, fmt.Sprintf("%s.yaml", res.Name))
				require.NoError(t, os.WriteFile(file, data, 0o600))
				files = append(files, file)
			}
			require.Greater(t, len(files), 15)
			out, err := exec.Command("kube-score", append([]string{"score", "--output-format", "ci"}, files...)...).CombinedOutput()
			for _, line := range strings.Split(string(out), "\n") {
				assert.False(t, strings.HasPrefix(line, "[CRITICAL]"), line)
			}
			assert.NoError(t, err, "kube-score exits non-zero on a critical finding")
			assert.Contains(t, string(out), "[OK]", "kube-score scored the objects")
		})
	}
}

// requireTool insists on a tool of the pinned toolchain, which `make test` builds and
// puts on PATH.
func requireTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not on PATH: run `make test`, which builds it", tool)
	}
}
