//go:build e2e

package tests

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realNodeProbeNamespace holds the restart test's pods.
const realNodeProbeNamespace = "realnode-probe"

// TestRealNodeWorksWithTheEverydayToolsAcrossAPlainRestart reads a real-node pod's logs
// and runs a command in it, as a developer debugging a test would, then restarts the
// node and the control plane without a wipe (make cluster-down; make cluster
// REAL_NODE=1) and does it again: a pod that runs `true` completes, and its log and a
// running pod's exec still answer. It stops the control plane, so make test runs it
// alone, last.
func TestRealNodeWorksWithTheEverydayToolsAcrossAPlainRestart(t *testing.T) {
	requireRealNode(t)
	resetNamespaceNamed(t, realNodeProbeNamespace)
	_, err := kubectl(t, "create", "namespace", realNodeProbeNamespace)
	require.NoError(t, err)
	t.Cleanup(func() { resetNamespaceNamed(t, realNodeProbeNamespace) })

	runProbe(t, "before", "echo ready-before; sleep 3600", true)
	assertLogsAndExec(t, "before", "ready-before")

	// The everyday restart, with a pod still running on the node.
	for _, step := range [][]string{{"realnode.sh", "down"}, {"cluster.sh", "down"}, {"cluster.sh", "up"}, {"realnode.sh", "up"}} {
		out, err := exec.Command(filepath.Join(repoRoot, "hack", step[0]), step[1:]...).CombinedOutput()
		require.NoError(t, err, "hack/%s %s: %s", step[0], step[1], out)
	}

	runProbe(t, "once", "echo ran-once; true", false)
	require.Eventually(t, func() bool {
		phase, _ := kubectl(t, "get", "pod", "once", "-n", realNodeProbeNamespace, "-o", "jsonpath={.status.phase}")
		return phase == "Succeeded"
	}, 90*time.Second, 2*time.Second, "a pod running `true` completes after the restart")
	logs, err := kubectl(t, "logs", "once", "-n", realNodeProbeNamespace)
	require.NoError(t, err)
	assert.Contains(t, logs, "ran-once")

	runProbe(t, "after", "echo ready-after; sleep 3600", true)
	assertLogsAndExec(t, "after", "ready-after")
}

// runProbe starts a busybox pod on the real node (as the restricted Pod Security level
// allows) and, when wait is set, waits until it is Ready.
func runProbe(t *testing.T, name, script string, wait bool) {
	t.Helper()
	overrides, err := json.Marshal(map[string]any{"spec": map[string]any{
		"nodeSelector":                 map[string]string{"kubernetes.io/hostname": realNode},
		"tolerations":                  []any{map[string]string{"key": "realnode", "operator": "Exists", "effect": "NoSchedule"}},
		"automountServiceAccountToken": false,
		"securityContext":              map[string]any{"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": map[string]string{"type": "RuntimeDefault"}},
		"containers": []any{map[string]any{
			"name": name, "image": "busybox:1.36", "command": []string{"sh", "-c", script},
			"securityContext": map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []string{"ALL"}}},
		}},
	}})
	require.NoError(t, err)
	_, err = kubectl(t, "run", name, "-n", realNodeProbeNamespace, "--image=busybox:1.36", "--restart=Never", "--overrides="+string(overrides))
	require.NoError(t, err)
	if wait {
		_, err = kubectl(t, "wait", "--for=condition=Ready", "pod/"+name, "-n", realNodeProbeNamespace, "--timeout=90s")
		require.NoError(t, err, "the pod %s runs on the real node", name)
	}
}

// assertLogsAndExec reads the pod's log and runs a command in it through the API
// server, which dials the node's kubelet.
func assertLogsAndExec(t *testing.T, name, logLine string) {
	t.Helper()
	logs, err := kubectl(t, "logs", name, "-n", realNodeProbeNamespace)
	require.NoError(t, err, "kubectl logs reaches the real node's kubelet")
	assert.Contains(t, logs, logLine)
	out, err := kubectl(t, "exec", name, "-n", realNodeProbeNamespace, "--", "sh", "-c", "echo exec-$((40+2))")
	require.NoError(t, err, "kubectl exec reaches the real node's kubelet")
	assert.Equal(t, "exec-42", strings.TrimSpace(out))
}
