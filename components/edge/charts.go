package edge

import (
	"context"

	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The charts are Pulumi Charts (helm.sh/v4): the provider renders them and manages
// every object itself, with server-side apply, so a preview shows each object's diff
// and a chart bump is reviewable object by object. Helm is not involved at deploy
// time: hooks are not rendered and no release Secret is written.

// ChartSource is where a chart comes from: a repository and an exact version, or a
// path to an unpacked chart or archive (Repo empty), for mirrors and offline tests.
type ChartSource struct {
	Chart   string
	Repo    string
	Version string
}

const (
	ingressNginxRepo = "https://kubernetes.github.io/ingress-nginx"
	certManagerRepo  = "https://charts.jetstack.io"
	crdType          = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
)

// newChart renders src as the release named release (the names its objects get are
// the same as under `helm install <release>`), in namespace.
func newChart(ctx *pulumi.Context, name, release string, src ChartSource, namespace pulumi.StringInput, values pulumi.Map, valueFiles pulumi.AssetOrArchiveArray, opts ...pulumi.ResourceOption) (*helmv4.Chart, error) {
	args := &helmv4.ChartArgs{
		Name:           pulumi.String(release),
		Chart:          pulumi.String(src.Chart),
		Namespace:      namespace,
		Values:         values,
		ValueYamlFiles: valueFiles,
	}
	if src.Version != "" {
		args.Version = pulumi.String(src.Version)
	}
	if src.Repo != "" {
		args.RepositoryOpts = &helmv4.RepositoryOptsArgs{Repo: pulumi.String(src.Repo)}
	}
	return helmv4.NewChart(ctx, name, args, append(opts, pulumi.Transforms([]pulumi.ResourceTransform{retainCRDs}))...)
}

// retainCRDs keeps a chart's CustomResourceDefinitions when the chart is deleted:
// deleting a CRD deletes every object of its kind in the cluster (every Certificate,
// every Issuer). The provider also honours `helm.sh/resource-policy: keep`, but only
// where a chart sets it; this holds whatever the chart's values say.
func retainCRDs(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
	if args.Type != crdType {
		return nil
	}
	opts := args.Opts
	opts.RetainOnDelete = true
	return &pulumi.ResourceTransformResult{Props: args.Props, Opts: opts}
}

// CertManagerChart installs cert-manager with its CRDs. Whatever depends on the
// returned chart starts only once cert-manager's webhook answers: the chart's API
// check, a post-install hook that a Chart would drop, is made an ordinary Job that the
// provider waits for.
func CertManagerChart(ctx *pulumi.Context, name string, src ChartSource, namespace pulumi.StringInput, highAvailability, gatewayAPI bool, opts ...pulumi.ResourceOption) (*helmv4.Chart, error) {
	values := pulumi.Map{
		"crds":   pulumi.Map{"enabled": pulumi.Bool(true), "keep": pulumi.Bool(true)},
		"global": pulumi.Map{"leaderElection": pulumi.Map{"namespace": namespace}},
	}
	if gatewayAPI {
		// Certificates for Gateways' listeners, and HTTP-01 solvers as HTTPRoutes.
		values["config"] = pulumi.Map{
			"apiVersion": pulumi.String("controller.config.cert-manager.io/v1alpha1"), "kind": pulumi.String("ControllerConfiguration"),
			"enableGatewayAPI": pulumi.Bool(true),
		}
	}
	if highAvailability {
		// Two of each, so that a drain or a lost node never stops issuance or the
		// webhook every cert-manager object passes through; a budget for each.
		replicated := pulumi.Map{"replicaCount": pulumi.Int(2), "podDisruptionBudget": pulumi.Map{"enabled": pulumi.Bool(true), "minAvailable": pulumi.Int(1)}}
		values["replicaCount"], values["podDisruptionBudget"] = replicated["replicaCount"], replicated["podDisruptionBudget"]
		values["webhook"], values["cainjector"] = replicated, replicated
	}
	return newChart(ctx, name, "cert-manager", src, namespace, values,
		pulumi.AssetOrArchiveArray{pulumi.NewStringAsset(startupAPICheckWithoutHooks)}, opts...)
}

// startupAPICheckWithoutHooks removes the hook annotations the chart puts on its API
// check (null deletes a chart default; an empty map would merge with it).
const startupAPICheckWithoutHooks = `startupapicheck:
  enabled: true
  jobAnnotations:
    helm.sh/hook: null
    helm.sh/hook-weight: null
    helm.sh/hook-delete-policy: null
  rbac:
    annotations:
      helm.sh/hook: null
      helm.sh/hook-weight: null
      helm.sh/hook-delete-policy: null
  serviceAccount:
    annotations:
      helm.sh/hook: null
      helm.sh/hook-weight: null
      helm.sh/hook-delete-policy: null
`

// IngressNginxChart installs the ingress-nginx controller. Its admission webhook's
// certificate comes from cert-manager (the chart's certManager mode) instead of the
// chart's certificate Jobs, which are hooks a Chart does not run; so the chart must
// depend on cert-manager's.
func IngressNginxChart(ctx *pulumi.Context, name string, src ChartSource, namespace pulumi.StringInput, args SecurityLayerArgs, opts ...pulumi.ResourceOption) (*helmv4.Chart, error) {
	return newChart(ctx, name, "ingress-nginx", src, namespace, ingressNginxValues(args), nil, opts...)
}
