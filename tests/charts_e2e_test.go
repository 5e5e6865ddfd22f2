//go:build e2e

package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// The security layer's charts cannot be downloaded here, but cert-manager's chart ships
// in its Go module, so the cert-manager half runs on the real engine and API server:
// the move from the old helm.sh/v3 Release, the Chart's objects, its ordering, and the
// CRDs that outlive a destroy. (ingress-nginx's chart is in no module: unproven here.)
const chartNamespace = "cert-manager-e2e"

var certManagerCRDs = []string{
	"certificates.cert-manager.io", "certificaterequests.cert-manager.io", "issuers.cert-manager.io",
	"clusterissuers.cert-manager.io", "orders.acme.cert-manager.io", "challenges.acme.cert-manager.io",
}

func TestE2ECertManagerChartTakesOverTheReleaseAndKeepsItsCRDs(t *testing.T) {
	requireControlPlane(t)
	chart := certManagerChartFromModule(t)
	cleanup := func() {
		_, _ = kubectl(t, "delete", "namespace", chartNamespace, "--ignore-not-found", "--wait=true", "--timeout=90s")
		_, _ = kubectl(t, append([]string{"delete", "crd", "--ignore-not-found"}, certManagerCRDs...)...)
		_, _ = kubectl(t, "delete", "clusterrole,clusterrolebinding,validatingwebhookconfiguration,mutatingwebhookconfiguration",
			"-l", "app.kubernetes.io/instance=cert-manager", "--ignore-not-found")
	}
	cleanup()
	t.Cleanup(cleanup)

	ctx := context.Background()
	stateDir := t.TempDir()
	s, err := auto.UpsertStackInlineSource(ctx, "charts", "charts-e2e", releaseProgram(chart),
		auto.WorkDir(t.TempDir()), auto.SecretsProvider("passphrase"), auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":       "file://" + stateDir,
			"PULUMI_CONFIG_PASSPHRASE": stackrun.LocalPassphrase,
			"PULUMI_SKIP_UPDATE_CHECK": "true",
			"KUBECONFIG":               os.Getenv("KUBECONFIG"),
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = s.Destroy(ctx) })

	// 1. The program as it was: cert-manager as a helm.sh/v3 Release.
	_, err = s.Up(ctx)
	require.NoError(t, err, "the old Release installs")
	webhookUID := uid(t, "deployment", "cert-manager-webhook", chartNamespace)
	crdUID := uid(t, "crd", "certificates.cert-manager.io", "")

	// 2. The migration: forget the Release, then the Chart adopts its objects in place.
	s.Workspace().SetProgram(chartProgram(chart, 1))
	var order []string
	removed, up, err := stackrun.MoveReleasesToCharts(ctx, s, optup.EventStreams(recordOrder(&order)))
	require.NoError(t, err, "the Chart adopts what the Release installed")
	require.Len(t, removed, 1)
	assert.Equal(t, webhookUID, uid(t, "deployment", "cert-manager-webhook", chartNamespace),
		"the controller kept running: adopted, not deleted and recreated")
	assert.Equal(t, crdUID, uid(t, "crd", "certificates.cert-manager.io", ""))
	assert.Zero(t, (*up.Summary.ResourceChanges)["delete"], "nothing was deleted in the move")

	// The API check runs as an ordinary Job, and what depends on the chart waits for it.
	job := objectIn(t, "job", "cert-manager-startupapicheck", chartNamespace)
	annotations, _ := job["metadata"].(map[string]any)["annotations"].(map[string]any)
	_, hook := annotations["helm.sh/hook"]
	assert.False(t, hook, "the Job is no hook: a Chart would drop it")
	jobDone, configMapStarted := slices.Index(order, "done Job cert-manager-startupapicheck"), slices.Index(order, "start ConfigMap after-cert-manager")
	require.NotEqual(t, -1, jobDone, "the Job is one of the chart's objects: %v", order)
	require.NotEqual(t, -1, configMapStarted)
	assert.Less(t, jobDone, configMapStarted, "a dependent of the chart starts only after the API check completed")

	// 3. Each chart object is a resource of its own, with retainOnDelete on the CRDs.
	state := exportResources(t, s)
	var chartObjects, retainedCRDs int
	for _, res := range state {
		assert.NotEqual(t, stackrun.HelmReleaseType, res.Type)
		if strings.Contains(res.URN, "kubernetes:helm.sh/v4:Chart$") {
			chartObjects++
			if res.Type == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" && res.RetainOnDelete {
				retainedCRDs++
			}
		}
	}
	assert.Greater(t, chartObjects, 30, "the chart's objects are in the state one by one")
	assert.Equal(t, len(certManagerCRDs), retainedCRDs)

	// 4. Idempotent, and a values change previews as the one object it changes.
	again, err := s.Up(ctx)
	require.NoError(t, err)
	changes := *again.Summary.ResourceChanges
	assert.Equal(t, map[string]int{"same": changes["same"]}, changes, "a second up changes nothing")
	s.Workspace().SetProgram(chartProgram(chart, 2))
	preview, err := s.Preview(ctx, optpreview.Diff())
	require.NoError(t, err)
	assert.Equal(t, 1, preview.ChangeSummary["update"], "webhook replicas touch one object:\n%s", preview.StdOut)
	assert.Contains(t, preview.StdOut, "cert-manager-webhook")

	// 5. destroy removes cert-manager and keeps the CRDs, and with them every Certificate.
	_, err = s.Destroy(ctx)
	require.NoError(t, err)
	assert.Equal(t, crdUID, uid(t, "crd", "certificates.cert-manager.io", ""), "the CRDs outlive the stack")
	_, err = kubectl(t, "get", "deployment", "cert-manager-webhook", "-n", chartNamespace)
	assert.Error(t, err, "the controller is gone")
}

// certManagerChartFromModule copies the chart of the pinned cert-manager release out of
// its Go module, stamped with the version as the release tooling does.
func certManagerChartFromModule(t *testing.T) string {
	t.Helper()
	version := pins.CertManagerChartVersion
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@"+version).Output()
	require.NoError(t, err, "the cert-manager module %s from the module proxy", version)
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	dst := filepath.Join(t.TempDir(), "cert-manager")
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join(mod.Dir, "deploy", "charts", "cert-manager"))))
	require.NoError(t, filepath.WalkDir(dst, func(path string, d os.DirEntry, err error) error {
		if err == nil {
			err = os.Chmod(path, map[bool]os.FileMode{true: 0o755, false: 0o644}[d.IsDir()])
		}
		return err
	}))
	chartFile := filepath.Join(dst, "Chart.yaml")
	data, err := os.ReadFile(chartFile)
	require.NoError(t, err)
	stamped := regexp.MustCompile(`(?m)^(version|appVersion): v0\.0\.0$`).ReplaceAll(data, []byte("${1}: "+version))
	require.NoError(t, os.WriteFile(chartFile, stamped, 0o644))
	return dst
}

func chartNamespaceResource(ctx *pulumi.Context) (*corev1.Namespace, error) {
	return corev1.NewNamespace(ctx, "cert-manager-namespace", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(chartNamespace), Labels: pulumi.StringMap{
			"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
		}},
	})
}

// releaseProgram is how the program installed cert-manager before: a helm.sh/v3 Release
// (registered by its type token, so that no test links the SDK package either).
func releaseProgram(chart string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		ns, err := chartNamespaceResource(ctx)
		if err != nil {
			return err
		}
		var release struct{ pulumi.CustomResourceState }
		return ctx.RegisterResource(stackrun.HelmReleaseType, "security-cert-manager", pulumi.Map{
			"name":      pulumi.String("cert-manager"),
			"chart":     pulumi.String(chart),
			"namespace": ns.Metadata.Name().Elem(),
			"values": pulumi.Map{
				"crds":   pulumi.Map{"enabled": pulumi.Bool(true), "keep": pulumi.Bool(true)},
				"global": pulumi.Map{"leaderElection": pulumi.Map{"namespace": pulumi.String(chartNamespace)}},
			},
		}, &release)
	}
}

func chartProgram(chart string, webhookReplicas int) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		ns, err := chartNamespaceResource(ctx)
		if err != nil {
			return err
		}
		opts := []pulumi.ResourceOption{}
		if webhookReplicas != 1 {
			opts = append(opts, pulumi.Transforms([]pulumi.ResourceTransform{webhookReplicasTransform(webhookReplicas)}))
		}
		certManager, err := edge.CertManagerChart(ctx, "security-cert-manager",
			edge.ChartSource{Chart: chart}, ns.Metadata.Name().Elem(), false, false, opts...)
		if err != nil {
			return err
		}
		_, err = corev1.NewConfigMap(ctx, "after-cert-manager", &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("after-cert-manager"), Namespace: ns.Metadata.Name().Elem()},
			Data:     pulumi.StringMap{"ready": pulumi.String("true")},
		}, pulumi.DependsOn([]pulumi.Resource{certManager}))
		return err
	}
}

// webhookReplicasTransform changes one object of the chart, as a values change would.
func webhookReplicasTransform(replicas int) pulumi.ResourceTransform {
	return func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
		if args.Type != "kubernetes:apps/v1:Deployment" || !strings.HasSuffix(args.Name, "cert-manager-webhook") {
			return nil
		}
		spec, ok := args.Props["spec"].(pulumi.Map)
		if !ok {
			return nil
		}
		spec["replicas"] = pulumi.Int(replicas)
		return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
	}
}

// recordOrder lists "start <Kind> <name>" and "done <Kind> <name>" in the engine's order.
func recordOrder(order *[]string) chan<- events.EngineEvent {
	ch := make(chan events.EngineEvent)
	go func() {
		for ev := range ch {
			switch {
			case ev.ResourcePreEvent != nil:
				*order = append(*order, "start "+kindAndName(ev.ResourcePreEvent.Metadata.URN))
			case ev.ResOutputsEvent != nil:
				*order = append(*order, "done "+kindAndName(ev.ResOutputsEvent.Metadata.URN))
			}
		}
	}()
	return ch
}

// kindAndName turns ...::kubernetes:batch/v1:Job::prefix:ns/name into "Job name".
func kindAndName(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn
	}
	types := strings.Split(parts[2], "$")
	kind := types[len(types)-1]
	kind = kind[strings.LastIndex(kind, ":")+1:]
	name := parts[3][strings.LastIndex(parts[3], "/")+1:]
	return kind + " " + name
}

type stateResource struct {
	URN            string `json:"urn"`
	Type           string `json:"type"`
	RetainOnDelete bool   `json:"retainOnDelete"`
}

func exportResources(t *testing.T, s auto.Stack) []stateResource {
	t.Helper()
	exported, err := s.Export(context.Background())
	require.NoError(t, err)
	var deployment struct {
		Resources []stateResource `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(exported.Deployment, &deployment))
	return deployment.Resources
}

func uid(t *testing.T, kind, name, namespace string) string {
	t.Helper()
	return fieldString(objectIn(t, kind, name, namespace), "metadata", "uid")
}
