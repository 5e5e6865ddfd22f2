//go:build e2e

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The preview environments' identity (docs/rbac/preview-identity.yaml) runs a real
// `pulumi preview` of a deployed stack, whose changes go to the API server as dry runs
// (its admission refusals show), and cannot deploy it, nor take the policy that holds it to dry runs away, nor mint a
// token for another ServiceAccount.
func TestE2EThePreviewIdentityCanPreviewButNotDeploy(t *testing.T) {
	s, ctx := freshE2EStack(t, "preview-identity", 5*time.Minute)
	require.NoError(t, cliUp(ctx, s))

	manifest := filepath.Join(repoRoot, "docs", "rbac", "preview-identity.yaml")
	_, err := kubectl(t, "apply", "-f", manifest)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "-f", manifest, "--ignore-not-found", "--wait=false") })
	token, err := kubectl(t, "create", "token", "backstage-preview", "-n", "backstage-delivery", "--duration", "1h")
	require.NoError(t, err)
	server, err := kubectl(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	require.NoError(t, err)
	ca, err := kubectl(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority}")
	require.NoError(t, err)
	kubeconfig := filepath.Join(t.TempDir(), "preview-kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "`+server+`", certificate-authority: "`+ca+`"}}]
users: [{name: preview, user: {token: "`+strings.TrimSpace(token)+`"}}]
contexts: [{name: preview, context: {cluster: local, user: preview}}]
current-context: preview
`), 0o600))
	asPreview := func(args ...string) (string, error) {
		return kubectl(t, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	}
	// The binding and the policy take effect after a few seconds: until the policy is
	// loaded, a write would pass (and is removed).
	waitFor(t, "the preview identity reads and the policy refuses its writes", time.Minute, func() bool {
		if _, err := asPreview("get", "deployment", "-n", e2eNamespace, "backstage"); err != nil {
			return false
		}
		_, err := asPreview("create", "configmap", "policy-probe", "-n", e2eNamespace, "--from-literal=a=b")
		if err == nil {
			_, _ = kubectl(t, "delete", "configmap", "policy-probe", "-n", e2eNamespace)
		}
		return err != nil && strings.Contains(err.Error(), "may only read and dry-run")
	})

	t.Run("kubectl", func(t *testing.T) {
		_, err := asPreview("create", "configmap", "probe", "-n", e2eNamespace, "--from-literal=a=b", "--dry-run=server")
		require.NoError(t, err, "a dry run passes")
		out, err := asPreview("create", "configmap", "probe", "-n", e2eNamespace, "--from-literal=a=b")
		require.Error(t, err)
		assert.Contains(t, out+err.Error(), "may only read and dry-run")
		_, err = asPreview("delete", "validatingadmissionpolicy", "backstage-preview-dry-run-only")
		assert.ErrorContains(t, err, "forbidden", "the policy that holds it to dry runs stays")
		_, err = asPreview("create", "--raw", "/api/v1/namespaces/kube-system/serviceaccounts/default/token?dryRun=All", "-f",
			writeTemp(t, `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`))
		assert.ErrorContains(t, err, "forbidden", "a dry-run TokenRequest returns a working token, so it is not granted")
	})

	t.Run("pulumi", func(t *testing.T) {
		require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: "ghcr.io/arhean/backstage:1.0.1"}))
		// The program's provider reads $KUBECONFIG (the inline program runs in this
		// process): the preview and the up below run as the preview identity.
		admin := os.Getenv("KUBECONFIG")
		require.NoError(t, os.Setenv("KUBECONFIG", kubeconfig))
		defer func() { require.NoError(t, os.Setenv("KUBECONFIG", admin)) }()

		preview, err := s.Preview(ctx)
		require.NoError(t, err, "the preview identity previews the stack")
		assert.Positive(t, preview.ChangeSummary[apitype.OpUpdate], "%v", preview.ChangeSummary)
		assert.Contains(t, preview.StdOut, "kubernetes:apps/v1:Deployment")
		for _, op := range []apitype.OpType{apitype.OpCreate, apitype.OpReplace, apitype.OpDelete} {
			assert.Zero(t, preview.ChangeSummary[op], "%s in %v", op, preview.ChangeSummary)
		}
		// The changes reach the API server as dry runs, so its refusals show in the
		// preview: a read-only identity's preview would pass here (the provider falls
		// back to a client-side diff when the dry run is forbidden).
		withTemporaryConfig(t, s, "backstage:postgresMajorVersion", "17", func() {
			_, err := s.Preview(ctx)
			require.Error(t, err, "the API server's dry run refuses a major change in place")
			assert.Contains(t, err.Error(), "17 cannot start on it")
		})
		err = cliUp(ctx, s)
		require.Error(t, err, "the preview identity cannot deploy")
		assert.Contains(t, err.Error(), "may only read and dry-run")
	})
	image := fieldString(object(t, "deployment", "backstage"), "spec", "template", "spec", "containers", "0", "image")
	assert.NotEqual(t, "ghcr.io/arhean/backstage:1.0.1", image, "nothing was deployed")
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// The DIY backend's CLI refuses a team's organisation name, which the workflows used to
// build stack names from, and takes the name hack/stack-name.sh gives.
func TestE2EASelfManagedBackendTakesTheWorkflowsStackName(t *testing.T) {
	project := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: naming\nruntime: go\n"), 0o600))
	pulumi := func(args ...string) (string, error) {
		cmd := exec.Command("pulumi", args...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+t.TempDir(), "PULUMI_CONFIG_PASSPHRASE=naming",
			"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := pulumi("stack", "init", "acme/prod")
	require.Error(t, err)
	assert.Contains(t, out, "organization name must be 'organization'")
	name, err := stackName(t, "prod", "file:///state", "acme")
	require.NoError(t, err)
	out, err = pulumi("stack", "init", name)
	require.NoError(t, err, out)
}
