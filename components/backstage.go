package components

import (
	"errors"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
	ClusterIssuer Issuer
	// Optional: defaults to DefaultRateLimitRPS. Requests per second one client may make.
	RateLimitRPS int
}

// DatabaseConnection is what the app needs to reach PostgreSQL.
type DatabaseConnection struct {
	Host     pulumi.StringInput
	Port     int
	Name     string
	User     pulumi.StringInput
	Password pulumi.StringInput
}

// Backstage is the Deployment, its configuration, Service, Ingress and disruption budget.
type Backstage struct {
	pulumi.ResourceState

	URL            pulumi.StringOutput `pulumi:"url"`
	Image          pulumi.StringOutput `pulumi:"image"`
	DeploymentName pulumi.StringOutput `pulumi:"deploymentName"`
	ServiceName    pulumi.StringOutput `pulumi:"serviceName"`
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
	case a.Replicas != 0 && a.Replicas < MinReplicas:
		return backstageSpec{}, fmt.Errorf("field Replicas must be at least %d, got %d", MinReplicas, a.Replicas)
	case a.RateLimitRPS < 0:
		return backstageSpec{}, fmt.Errorf("field RateLimitRPS must be positive, got %d", a.RateLimitRPS)
	}
	out := backstageSpec{BackstageArgs: *a, tls: boolOr(a.TLS, DefaultTLS)}
	out.InitImage = orDefault(out.InitImage, DefaultInitImage)
	out.Replicas = orDefault(out.Replicas, DefaultReplicas)
	out.MaxUnavailable = orDefault(out.MaxUnavailable, DefaultMaxUnavailable)
	out.MaxSurge = orDefault(out.MaxSurge, DefaultMaxSurge)
	out.HealthCheckPath = orDefault(out.HealthCheckPath, DefaultHealthCheckPath)
	out.IngressClassName = orDefault(out.IngressClassName, DefaultIngressClassName)
	out.Database.Port = orDefault(out.Database.Port, PostgresPort)
	out.RateLimitRPS = orDefault(out.RateLimitRPS, DefaultRateLimitRPS)
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
	if err != nil {
		return nil, fmt.Errorf("component Backstage %q: %w", name, err)
	}
	comp := &Backstage{}
	if err := ctx.RegisterComponentResource("backstage:index:Backstage", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	env := backstageEnv(spec)
	configMap, err := corev1.NewConfigMap(ctx, name+"-env-config", backstageConfigMap(spec, env), child)
	if err != nil {
		return nil, err
	}
	secretData := backstageSecretData(spec)
	secret, err := corev1.NewSecret(ctx, name+"-secrets", backstageSecret(spec, secretData), child)
	if err != nil {
		return nil, err
	}
	deployment, err := appsv1.NewDeployment(ctx, name+"-deployment", backstageDeployment(spec, backstagePodInputs{
		configMapName: configMap.Metadata.Name(),
		secretName:    secret.Metadata.Name(),
		configHash:    env.ToStringMapOutput().ApplyT(checksum).(pulumi.StringOutput),
		secretHash:    secretData.ToStringMapOutput().ApplyT(checksum).(pulumi.StringOutput),
	}), child)
	if err != nil {
		return nil, err
	}
	service, err := corev1.NewService(ctx, name+"-service", backstageService(spec), child)
	if err != nil {
		return nil, err
	}
	if _, err := networkingv1.NewIngress(ctx, name+"-ingress", backstageIngress(spec, service.Metadata.Name().Elem()), child); err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name+"-pdb", disruptionBudget(BackstageName, spec.Namespace, BackstageSelector),
		child, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
		return nil, err
	}

	comp.URL = pulumi.String(spec.url).ToStringOutput()
	comp.Image = pulumi.String(spec.Image).ToStringOutput()
	comp.DeploymentName = deployment.Metadata.Name().Elem()
	comp.ServiceName = service.Metadata.Name().Elem()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"url":            comp.URL,
		"image":          comp.Image,
		"deploymentName": comp.DeploymentName,
		"serviceName":    comp.ServiceName,
	})
}
