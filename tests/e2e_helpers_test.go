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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// e2eNamespace keeps the tests apart from a `make up` of the local stack on the same
// control plane; its cluster-scoped RBAC is named after it too.
const e2eNamespace = "backstage-e2e"

// requireControlPlane insists on the real parts: the Pulumi CLI, the provider and a
// reachable API server.
func requireControlPlane(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"pulumi", "pulumi-resource-kubernetes", "kubectl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: run the end-to-end tests with `make test` (it builds the tools and starts the cluster), or `go test ./...` (no e2e tag) for the mock tests", tool)
		}
	}
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: `make test` points it at the local control plane")
	}
	if _, err := kubectl(t, "get", "--raw", "/readyz"); err != nil {
		t.Fatalf("the API server in $KUBECONFIG is not ready (%v): run `make cluster`", err)
	}
}

// e2eStack is the `local` stack's configuration under another stack name, namespace
// and state folder.
func e2eStack(t testing.TB, name string) *stackrun.Stack {
	t.Helper()
	s := stackFrom(t, "local", name)
	require.NoError(t, s.SetConfig(context.Background(), "backstage:namespace", auto.ConfigValue{Value: e2eNamespace}))
	return s
}

// stackFrom is a committed stack file's configuration under another stack name and
// state folder, in a work folder of its own so config changes stay in the test.
func stackFrom(t testing.TB, stackFile, name string) *stackrun.Stack {
	t.Helper()
	s, err := stackrun.Select(context.Background(), stackrun.Options{
		Stack:      name,
		ConfigFrom: stackFile,
		ProjectDir: repoRoot,
		StateDir:   t.TempDir(),
		Isolated:   true,
		Env:        map[string]string{"KUBECONFIG": os.Getenv("KUBECONFIG")},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(s.WorkDir) })
	return s
}

// freshE2EStack is a stack of its own on an empty e2e namespace, reset when the test
// ends. The reset removes all the stack made (the namespace's objects and its RBAC),
// and the state is a temporary folder, so no destroy runs: it would only double the
// teardown (the lifecycle and fault tests destroy on purpose).
func freshE2EStack(t *testing.T, name string, timeout time.Duration) (*stackrun.Stack, context.Context) {
	t.Helper()
	requireControlPlane(t)
	resetNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	s := e2eStack(t, name)
	t.Cleanup(func() { resetNamespace(t) })
	return s, ctx
}

// resetNamespace removes what an earlier run retained on purpose (namespace, database
// StatefulSet and claim) so that `up` starts from nothing, and frees the volume.
func resetNamespace(t testing.TB) { resetNamespaceNamed(t, e2eNamespace) }

func resetNamespaceNamed(t testing.TB, namespace string) {
	t.Helper()
	_, _ = kubectl(t, "delete", "namespace", namespace, "--ignore-not-found", "--wait=false")
	// Until it is gone: a namespace still terminating keeps its objects for a while, and
	// an up would adopt them (server-side apply upserts) and await their readiness as
	// they go. That is the likely cause, not reproduced, of the lifecycle test once
	// reading its pods as not ready right after an up, when the reset gave up after 60 s.
	waitFor(t, "namespace "+namespace+" deleted", 3*time.Minute, func() bool {
		out, err := kubectl(t, "get", "namespace", namespace, "--ignore-not-found", "-o", "name")
		return err == nil && strings.TrimSpace(out) == ""
	})
	_, _ = kubectl(t, "delete", "clusterrole,clusterrolebinding", namespace+"-backend", "--ignore-not-found")
	_, _ = kubectl(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", namespace+"-postgres-major", "--ignore-not-found")
	releaseVolumes(t)
}

// releaseVolumes makes Released volumes Available again: with no provisioner, a
// retained volume keeps pointing at its deleted claim until someone clears it. Its
// folder is emptied too: on the real node a server would find another test's data
// directory there (kwok never writes to it).
//
// The suite and the real node's tests run in two processes and both release volumes.
// Only a release makes a Released volume bindable, so under one lock across processes
// a volume listed as Released stays so until this call releases it; without the lock,
// a second caller could empty and unbind a volume the first had just released and a new
// claim had bound (its claim then Lost, its pod never Ready). The patch also tests the
// old claim's uid, so it cannot unbind a newer claim whatever else runs.
func releaseVolumes(t testing.TB) {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(os.Getenv("KUBECONFIG")), "volumes.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer func() { _ = lock.Close() }()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()

	out, err := kubectl(t, "get", "pv", "-o", `jsonpath={range .items[?(@.status.phase=="Released")]}{.metadata.name}={.spec.claimRef.uid}={.spec.hostPath.path}{"\n"}{end}`)
	require.NoError(t, err)
	for _, line := range strings.Fields(out) {
		parts := strings.SplitN(line, "=", 3)
		require.Len(t, parts, 3, line)
		pv, uid, path := parts[0], parts[1], parts[2]
		if path != "" {
			entries, _ := os.ReadDir(path)
			for _, e := range entries {
				require.NoError(t, os.RemoveAll(filepath.Join(path, e.Name())))
			}
		}
		patch := `[{"op":"remove","path":"/spec/claimRef"}]`
		if uid != "" {
			patch = `[{"op":"test","path":"/spec/claimRef/uid","value":"` + uid + `"},{"op":"remove","path":"/spec/claimRef"}]`
		}
		_, err := kubectl(t, "patch", "pv", pv, "--type=json", "-p="+patch)
		require.NoError(t, err, "release %s", pv)
	}
}

// kubectl runs one command; it tries again while the API server refuses connections
// (for up to 2 minutes, its restart's limit): `make test-realnode` or a `go test` of
// the whole package can run the real node's tests beside the API-server outage.
func kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err == nil {
			return stdout.String(), nil
		}
		refused := strings.Contains(stderr.String(), "connection refused") || strings.Contains(stderr.String(), "6443 was refused")
		if !refused || time.Now().After(deadline) {
			return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
	}
}

// restore runs hack/restore.sh as `make restore` does, without its driver (so Backstage
// must already be in maintenance): args are NAMESPACE [BACKUP], env adds TIME= for one.
func restore(env []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "restore.sh"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// object reads one object of the e2e namespace (or a cluster-scoped one) from the API server.
func object(t testing.TB, kind, name string) map[string]any {
	t.Helper()
	if strings.HasPrefix(kind, "clusterrole") || kind == "namespace" || kind == "pv" {
		return objectIn(t, kind, name, "")
	}
	return objectIn(t, kind, name, e2eNamespace)
}

// objectIn reads one object of a namespace ("" for cluster-scoped kinds).
func objectIn(t testing.TB, kind, name, namespace string) map[string]any {
	t.Helper()
	args := []string{"get", kind, name, "-o", "json"}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	out, err := kubectl(t, args...)
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &obj))
	return obj
}

func exists(t testing.TB, kind, name string) bool {
	t.Helper()
	out, err := kubectl(t, "get", kind, name, "-n", e2eNamespace, "--ignore-not-found", "-o", "name")
	require.NoError(t, err)
	return strings.TrimSpace(out) != ""
}

// field walks an object by keys and array indexes ("0").
func field(obj any, path ...string) any {
	for _, step := range path {
		switch v := obj.(type) {
		case map[string]any:
			obj = v[step]
		case []any:
			var i int
			if _, err := fmt.Sscan(step, &i); err != nil || i >= len(v) {
				return nil
			}
			obj = v[i]
		default:
			return nil
		}
	}
	return obj
}

func fieldString(obj any, path ...string) string {
	v := field(obj, path...)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// resourceVersions maps every namespaced object of the stack to its resourceVersion.
func resourceVersions(t testing.TB) map[string]string {
	t.Helper()
	out, err := kubectl(t, "get", "deployment,statefulset,service,configmap,secret,ingress,networkpolicy,pdb,serviceaccount,pvc",
		"-n", e2eNamespace, "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
	require.NoError(t, err)
	versions := map[string]string{}
	for _, line := range strings.Fields(out) {
		kv := strings.SplitN(line, "=", 2)
		versions[kv[0]] = kv[1]
	}
	return versions
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, timeout)
}

func stateResourceCount(t testing.TB, s *stackrun.Stack) int {
	t.Helper()
	state, err := s.Export(context.Background())
	require.NoError(t, err)
	var deployment struct {
		Resources []json.RawMessage `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(state.Deployment, &deployment))
	return len(deployment.Resources)
}

// cliStackExport runs `pulumi stack export` as a user would. (The Automation API's
// Export passes --show-secrets, so it cannot tell what is stored in plaintext.)
func cliStackExport(t testing.TB, s *stackrun.Stack) string {
	t.Helper()
	cmd := exec.Command("pulumi", "stack", "export", "--stack", s.Name())
	cmd.Dir = s.WorkDir
	cmd.Env = append(os.Environ(), s.WorkspaceEnv()...)
	out, err := cmd.Output()
	require.NoError(t, err)
	return string(out)
}

// withTemporaryConfig sets a stack config value for the duration of f, then restores it,
// or removes it again when the stack file left it to the program's default.
func withTemporaryConfig(t *testing.T, s *stackrun.Stack, key, value string, f func()) {
	t.Helper()
	ctx := context.Background()
	all, err := s.GetAllConfig(ctx)
	require.NoError(t, err)
	before, wasSet := all[key]
	require.NoError(t, s.SetConfig(ctx, key, auto.ConfigValue{Value: value}))
	defer func() {
		if wasSet {
			require.NoError(t, s.SetConfig(ctx, key, before))
		} else {
			require.NoError(t, s.RemoveConfig(ctx, key))
		}
	}()
	f()
}

// assertNothingReplacedOrDeleted checks a preview creates, replaces and deletes nothing.
func assertNothingReplacedOrDeleted(t *testing.T, summary map[apitype.OpType]int, change string) {
	t.Helper()
	for _, op := range []apitype.OpType{apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDelete, apitype.OpDeleteReplaced, apitype.OpCreate} {
		assert.Zero(t, summary[op], "%s: %s in %v", change, op, summary)
	}
}

// inOrder runs the steps of a test that share one stack: each runs only if the ones
// before it passed.
func inOrder(t *testing.T) func(name string, f func(t *testing.T)) {
	return func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
}

// cliUp runs an up as `make up` does, one CLI process (the Automation API's Up adds
// four more, for results these callers do not read); its error carries the CLI's
// progress, diagnostics included.
func cliUp(ctx context.Context, s *stackrun.Stack) error {
	var out bytes.Buffer
	if err := s.CLIUp(ctx, &out); err != nil {
		return fmt.Errorf("%w\n%s%s", err, diagnosticsOf(out.String()), out.String())
	}
	return nil
}

// diagnosticsOf is the CLI's Diagnostics section of an up's output, repeated ahead of
// the whole output: a report that keeps only the head of a long failure (CI's does)
// still shows why it failed.
func diagnosticsOf(output string) string {
	_, rest, ok := strings.Cut(output, "\nDiagnostics:")
	if !ok {
		return ""
	}
	diagnostics, _, _ := strings.Cut(rest, "\nResources:")
	return "the CLI's diagnostics:" + diagnostics + "\nthe whole output:\n"
}

// logWorkloadStatus logs what the API server holds of the namespace's StatefulSets and
// pods (their status, conditions and owners): the provider's readiness rules read it,
// and a run that fails on an unexpected update needs it to be explained.
func logWorkloadStatus(t testing.TB) {
	t.Helper()
	out, err := kubectl(t, "get", "statefulsets,pods", "-n", e2eNamespace, "-o",
		`jsonpath={range .items[*]}{.kind}/{.metadata.name} generation={.metadata.generation} spec.replicas={.spec.replicas} status={.status}{"\n"}{end}`)
	t.Logf("workloads in %s (err %v):\n%s", e2eNamespace, err, out)
}
