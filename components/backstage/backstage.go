package backstage

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// BackstageArgs configures the Backstage app tier.
type BackstageArgs struct {
	// Required: the namespace to run in.
	Namespace pulumi.StringInput
	// Required: the Backstage image, pinned by tag.
	Image string
	// Optional: defaults to DefaultInitImage. The image of the wait-for-postgres init container.
	InitImage string
	// Optional: defaults to DefaultReplicas; at least MinReplicas.
	Replicas int
	// Optional: defaults to DefaultMaxUnavailable. A number or percentage, as in a Deployment's strategy.
	MaxUnavailable string
	// Optional: defaults to DefaultMaxSurge. A number or percentage, as in a Deployment's strategy.
	MaxSurge string
	// Required: the public DNS name Backstage is served on.
	Host string
	// Optional: defaults to DefaultHealthCheckPath. Backstage 1.29 and later also serve
	// /.backstage/health/v1/readiness and /.backstage/health/v1/liveness.
	HealthCheckPath string
	// Required: the ServiceAccount the pods run as.
	ServiceAccountName pulumi.StringInput
	// Required: where the database is and how to log in.
	Database DatabaseConnection
	// Optional: GitHub credentials for the catalog and sign-in; each is left out of the
	// Secret when nil.
	GitHubToken, GitHubClientID, GitHubClientSecret pulumi.StringInput
	// Optional: defaults to DefaultIngressClassName.
	IngressClassName string
	// Optional: defaults to DefaultTLS (true). Terminates TLS at the Ingress and
	// redirects HTTP to HTTPS.
	TLS *bool
	// Optional: defaults to no cert-manager annotation. The ClusterIssuer that issues
	// the Ingress certificate.
	ClusterIssuer edge.Issuer
	// Optional: defaults to DefaultRateLimitRPS. Requests per second one client may make.
	RateLimitRPS int
	// Optional: defaults to an Ingress. An existing Gateway to attach an HTTPRoute to
	// instead; its owner then terminates TLS and redirects HTTP.
	Gateway *GatewayRef
	// Optional: defaults to false. With Gateway, the Ingress as well, for as long as
	// DNS moves from the ingress controller to the Gateway: both answer for the host.
	KeepIngress bool
	// Optional: what the Ingress waits for: the controller's admission webhook and the
	// issuer, when the stack installs them. (A component's own dependencies do not
	// hold back its children.)
	IngressAfter []pulumi.Resource

	// Optional: app-config merged over the image's files, as the official chart's
	// appConfig: mounted from the ConfigMap backstage-app-config and passed with --config.
	AppConfig map[string]any
	// Optional: defaults to DefaultAppConfigBaseFiles. The image's own app-config files,
	// passed with --config before AppConfig.
	AppConfigBaseFiles []string
	// Optional: plain environment variables, into the ConfigMap backstage-env-config.
	Env map[string]string
	// Optional: secret environment variables, into the Secret backstage-secrets.
	SecretEnv map[string]pulumi.StringInput
	// Optional: defaults to a secret generated once and kept in state. BACKEND_SECRET,
	// for backend.auth.keys and external access tokens.
	BackendSecret pulumi.StringInput
	// Optional: names of existing pull Secrets in the namespace.
	ImagePullSecrets []string
	// Optional: a registry login, turned into the pull Secret backstage-registry.
	RegistryAuth *RegistryAuth
	// Optional: defaults to DefaultImagePullPolicy.
	ImagePullPolicy string
	// Optional: PEM certificates Backstage trusts besides the public CAs (NODE_EXTRA_CA_CERTS).
	CABundle string
	// Optional: defaults to DefaultBackstageResources.
	Resources *workload.Resources
	// Optional: node selector, tolerations and priority class of the pods.
	Scheduling workload.Scheduling
	// Optional: labels and annotations of the pods (a mesh's injection, cost labels),
	// besides the program's; the selector's keys and the program's annotations are refused.
	PodLabels, PodAnnotations map[string]string
	// Optional: defaults to true. Whether the pods mount the ServiceAccount's token,
	// which the Kubernetes plugin needs when it reads the cluster as that account.
	AutomountServiceAccountToken *bool
	// Optional: existing ConfigMaps and Secrets in the namespace whose keys become
	// Backstage's environment (External Secrets, a Vault sync). The program's own
	// variables win over theirs; a change to them does not roll the pods.
	EnvFromConfigMaps, EnvFromSecrets []string
	// Optional: volumes of the pod (AllowedVolumeSources only) and their mounts in the
	// Backstage container.
	ExtraVolumes      []corev1.Volume
	ExtraVolumeMounts []corev1.VolumeMount
	// Optional: init containers, run after the database answers, and sidecars, native
	// ones (restartPolicy Always) that start before everything else and run beside
	// Backstage. Security settings a container leaves unset get Pod Security
	// restricted's.
	InitContainers, Sidecars []corev1.Container
	// Optional: scheduling besides the program's spreading over nodes.
	Affinity                  *corev1.Affinity
	TopologySpreadConstraints []corev1.TopologySpreadConstraint
	// Optional: timings of Backstage's startup, readiness and liveness probes.
	Probes *Probes
	// Optional: defaults to a fixed Replicas. A HorizontalPodAutoscaler that owns the
	// replica count between its bounds; Replicas is then not used.
	Autoscaling *Autoscaling
	// Optional: defaults to no metrics port. The OpenTelemetry Prometheus exporter's port.
	Metrics *Metrics
	// Optional: defaults to DefaultRolloutStrategy; Recreate stops every old pod first.
	RolloutStrategy string
	// Optional: defaults to false. Runs no pod (replicas 0), so that nothing writes to
	// the database during a restore or a major upgrade.
	Stopped bool
}

// Metrics exposes the Prometheus exporter's port to one scraper namespace.
type Metrics struct {
	// Optional: defaults to DefaultMetricsPort.
	Port int
	// Required: the namespace of the Prometheus that scrapes the port.
	ScraperNamespace string
	// Optional: also create a prometheus-operator ServiceMonitor.
	ServiceMonitor bool
}

// withDefaults fills in the port and requires the scraper namespace; nil stays nil.
// WithDefaults is the metrics settings with the port filled in; nil stays nil.
func (m *Metrics) WithDefaults() (*Metrics, error) {
	if m == nil {
		return nil, nil
	}
	out := *m
	out.Port = workload.OrDefault(out.Port, DefaultMetricsPort)
	if out.ScraperNamespace == "" {
		return nil, errors.New("field Metrics needs ScraperNamespace")
	}
	return &out, nil
}

// DatabaseConnection is what the app needs to reach PostgreSQL.
type DatabaseConnection struct {
	Host     pulumi.StringInput
	Port     int
	Name     string
	User     pulumi.StringInput
	Password pulumi.StringInput
	// Optional: defaults to no TLS (the in-cluster database). require, verify-ca or
	// verify-full, as libpq's sslmode.
	SSLMode string
	// Optional: PEM certificates that sign the server's certificate; without them the
	// public CAs Node.js knows are trusted.
	CABundle string
	// Optional: defaults to Backstage's (KnexDefaultPoolMax). The largest pool each
	// plugin keeps, written to app-config unless AppConfig sets
	// backend.database.knexConfig.pool.max itself.
	PoolMax int
}

// Backstage is the Deployment, its configuration, Service, Ingress and disruption budget.
type Backstage struct {
	pulumi.ResourceState

	URL            pulumi.StringOutput `pulumi:"url"`
	Image          pulumi.StringOutput `pulumi:"image"`
	DeploymentName pulumi.StringOutput `pulumi:"deploymentName"`
	ServiceName    pulumi.StringOutput `pulumi:"serviceName"`

	// Deployment is the resource to wait for: a dependency on the component itself
	// races with its children's registration in the Go SDK.
	Deployment *kube.Object
}

// backstageSpec is BackstageArgs with every default filled in.
type backstageSpec struct {
	BackstageArgs
	tls bool
	url string
}

func (a *BackstageArgs) withDefaults() (backstageSpec, error) {
	switch {
	case a == nil || a.Namespace == nil:
		return backstageSpec{}, errors.New("missing required field Namespace")
	case a.Image == "":
		return backstageSpec{}, errors.New("missing required field Image")
	case a.Host == "":
		return backstageSpec{}, errors.New("missing required field Host")
	case a.ServiceAccountName == nil:
		return backstageSpec{}, errors.New("missing required field ServiceAccountName")
	case a.Database.Host == nil || a.Database.User == nil || a.Database.Password == nil || a.Database.Name == "":
		return backstageSpec{}, errors.New("missing required field Database (Host, Name, User and Password)")
	case a.RateLimitRPS < 0:
		return backstageSpec{}, fmt.Errorf("field RateLimitRPS must be positive, got %d", a.RateLimitRPS)
	}
	out := backstageSpec{BackstageArgs: *a, tls: workload.BoolOr(a.TLS, DefaultTLS)}
	out.InitImage = workload.OrDefault(out.InitImage, pins.InitImage)
	out.Replicas = workload.OrDefault(out.Replicas, DefaultReplicas)
	for _, c := range []struct {
		field string
		err   error
	}{
		{"PodLabels", CheckPodLabels(out.PodLabels)},
		{"PodAnnotations", CheckPodAnnotations(out.PodAnnotations)},
		{"Replicas", CheckReplicas(out.Replicas)},
		{"EnvFromConfigMaps", CheckEnvFromObjects("ConfigMap")(out.EnvFromConfigMaps)},
		{"EnvFromSecrets", CheckEnvFromObjects("Secret")(out.EnvFromSecrets)},
		{"ExtraVolumes", CheckExtraVolumes(out.ExtraVolumes)},
		{"ExtraVolumeMounts", errors.Join(CheckVolumeMounts(out.ExtraVolumeMounts), CheckMountsExist(out.ExtraVolumeMounts, out.ExtraVolumes))},
		{"InitContainers", errors.Join(CheckContainers(out.InitContainers, false), CheckContainerMounts(out.InitContainers, out.ExtraVolumes))},
		{"Sidecars", errors.Join(CheckContainers(out.Sidecars, true), CheckContainerMounts(out.Sidecars, out.ExtraVolumes))},
		{"TopologySpreadConstraints", CheckTopologySpread(out.TopologySpreadConstraints)},
		{"Probes", CheckProbes(out.Probes)},
		{"Autoscaling", CheckAutoscaling(out.Autoscaling)},
		{"AppConfig", CheckAppConfigOwnership(out.AppConfig)},
	} {
		if c.err != nil {
			return backstageSpec{}, fmt.Errorf("field %s %w", c.field, c.err)
		}
	}
	out.MaxUnavailable = workload.OrDefault(out.MaxUnavailable, DefaultMaxUnavailable)
	out.MaxSurge = workload.OrDefault(out.MaxSurge, DefaultMaxSurge)
	out.HealthCheckPath = workload.OrDefault(out.HealthCheckPath, DefaultHealthCheckPath)
	out.IngressClassName = workload.OrDefault(out.IngressClassName, names.DefaultIngressClassName)
	out.Database.Port = workload.OrDefault(out.Database.Port, names.PostgresPort)
	switch out.Database.SSLMode {
	case "", "require", "verify-ca", "verify-full":
	default:
		return backstageSpec{}, fmt.Errorf("field Database.SSLMode must be require, verify-ca or verify-full, got %q", out.Database.SSLMode)
	}
	out.RateLimitRPS = workload.OrDefault(out.RateLimitRPS, DefaultRateLimitRPS)
	if len(out.AppConfigBaseFiles) == 0 {
		out.AppConfigBaseFiles = DefaultAppConfigBaseFiles
	}
	out.ImagePullPolicy = workload.OrDefault(out.ImagePullPolicy, DefaultImagePullPolicy)
	out.RolloutStrategy = workload.OrDefault(out.RolloutStrategy, DefaultRolloutStrategy)
	if out.Resources == nil {
		out.Resources = &DefaultResources
	}
	if err := out.Resources.Validate(); err != nil {
		return backstageSpec{}, fmt.Errorf("field workload.Resources %w", err)
	}
	for name := range out.Env {
		if EnvNameOwned(name) {
			return backstageSpec{}, fmt.Errorf("field Env sets %s, which the component sets itself", name)
		}
	}
	for name := range out.SecretEnv {
		if EnvNameOwned(name) {
			return backstageSpec{}, fmt.Errorf("field SecretEnv sets %s, which the component sets itself", name)
		}
	}
	metrics, err := out.Metrics.WithDefaults()
	if err != nil {
		return backstageSpec{}, err
	}
	out.Metrics = metrics
	if err := CheckContainersApart(out.InitContainers, out.Sidecars); err != nil {
		return backstageSpec{}, fmt.Errorf("fields InitContainers and Sidecars %w", err)
	}
	scheme := "https"
	if !out.tls {
		scheme = "http"
	}
	out.url = scheme + "://" + out.Host
	return out, nil
}

// NewBackstage registers the Backstage app tier.
func NewBackstage(ctx *pulumi.Context, name string, in *BackstageArgs, opts ...pulumi.ResourceOption) (*Backstage, error) {
	spec, err := in.withDefaults()
	if err == nil {
		err = checkPodTemplate(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("component Backstage %q: %w", name, err)
	}
	comp := &Backstage{}
	if err := ctx.RegisterComponentResource("backstage:index:Backstage", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	backendSecret := spec.BackendSecret
	if backendSecret == nil {
		generated, err := random.NewRandomPassword(ctx, name+"-backend-secret", &random.RandomPasswordArgs{
			Length: pulumi.Int(48), Special: pulumi.Bool(false),
		}, child)
		if err != nil {
			return nil, err
		}
		backendSecret = generated.Result
	}

	env := backstageEnv(spec)
	configMap, err := kube.New(ctx, name+"-env-config", func(refs *kube.Refs) any { return backstageConfigMap(refs, spec, env) }, child)
	if err != nil {
		return nil, err
	}
	secretData := backstageSecretData(spec, backendSecret)
	secret, err := kube.New(ctx, name+"-secrets", func(refs *kube.Refs) any { return backstageSecret(refs, spec, secretData) }, child)
	if err != nil {
		return nil, err
	}
	pod := backstagePodInputs{
		configMapName: configMap.Name(),
		secretName:    secret.Name(),
		configHash:    env.ToStringMapOutput().ApplyT(kube.Checksum).(pulumi.StringOutput),
		secretHash:    secretData.ToStringMapOutput().ApplyT(kube.Checksum).(pulumi.StringOutput),
	}
	appConfigFiles, err := appConfigData(spec)
	if err != nil {
		return nil, fmt.Errorf("component Backstage %q: field AppConfig: %w", name, err)
	}
	if len(appConfigFiles) > 0 {
		appConfig, err := kube.New(ctx, name+"-app-config", func(refs *kube.Refs) any {
			return fileConfigMap(refs, names.BackstageAppConfigName, spec, appConfigFiles)
		}, child)
		if err != nil {
			return nil, err
		}
		pod.appConfigName = appConfig.Name()
		pod.appConfigFiles = appConfigLoadOrder(appConfigFiles)
		hash, err := kube.Checksum(appConfigFiles)
		if err != nil {
			return nil, err
		}
		pod.appConfigHash = pulumi.String(hash)
	}
	if spec.CABundle != "" {
		data := map[string]string{names.CABundleKey: strings.TrimSpace(spec.CABundle) + "\n"}
		bundle, err := kube.New(ctx, name+"-ca-bundle", func(refs *kube.Refs) any { return fileConfigMap(refs, names.BackstageCABundleName, spec, data) }, child)
		if err != nil {
			return nil, err
		}
		pod.caBundleName = bundle.Name()
		hash, err := kube.Checksum(data)
		if err != nil {
			return nil, err
		}
		pod.caBundleHash = pulumi.String(hash)
	}
	if spec.RegistryAuth != nil {
		registry, err := kube.New(ctx, name+"-registry", func(refs *kube.Refs) any { return registrySecret(refs, spec) }, child)
		if err != nil {
			return nil, err
		}
		pod.registrySecretName = registry.Name()
	}
	deployment, err := kube.New(ctx, name+"-deployment", func(refs *kube.Refs) any { return backstageDeployment(refs, spec, pod) }, child)
	if err != nil {
		return nil, err
	}
	service, err := kube.New(ctx, name+"-service", func(refs *kube.Refs) any { return backstageService(refs, spec) }, child)
	if err != nil {
		return nil, err
	}
	if spec.Gateway != nil {
		// On the layer's own Gateway the route waits for it, as the Ingress does for
		// its controller.
		route, err := kube.New(ctx, name+"-route", func(refs *kube.Refs) any { return backstageRoute(refs, spec, service.Name()) }, child,
			pulumi.DependsOn(spec.IngressAfter))
		if err != nil {
			return nil, err
		}
		if spec.Gateway.EnvoyGateway {
			if _, err := kube.New(ctx, name+"-rate-limit", func(refs *kube.Refs) any { return rateLimitPolicy(refs, spec) }, child,
				pulumi.DependsOn([]pulumi.Resource{route})); err != nil {
				return nil, err
			}
		}
	}
	if spec.Gateway == nil || spec.KeepIngress {
		if _, err := kube.New(ctx, name+"-ingress", func(refs *kube.Refs) any { return backstageIngress(refs, spec, service.Name()) }, child,
			pulumi.DependsOn(spec.IngressAfter)); err != nil {
			return nil, err
		}
	}
	if spec.Metrics != nil && spec.Metrics.ServiceMonitor {
		if _, err := kube.New(ctx, name+"-service-monitor", func(refs *kube.Refs) any { return serviceMonitor(refs, spec) },
			child, pulumi.DependsOn([]pulumi.Resource{service})); err != nil {
			return nil, err
		}
	}
	if spec.Autoscaling != nil {
		if _, err := kube.New(ctx, name+"-autoscaler", func(refs *kube.Refs) any { return autoscaler(refs, spec) },
			child, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
			return nil, err
		}
	}
	if _, err := kube.New(ctx, name+"-pdb", func(refs *kube.Refs) any {
		return workload.DisruptionBudget(refs, names.BackstageName, spec.Namespace, names.BackstageSelector)
	},
		child, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
		return nil, err
	}

	comp.URL = pulumi.String(spec.url).ToStringOutput()
	comp.Image = pulumi.String(spec.Image).ToStringOutput()
	comp.Deployment = deployment
	comp.DeploymentName = deployment.Name()
	comp.ServiceName = service.Name()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"url":            comp.URL,
		"image":          comp.Image,
		"deploymentName": comp.DeploymentName,
		"serviceName":    comp.ServiceName,
	})
}
