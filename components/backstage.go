package components

import (
	"fmt"
	"strconv"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The `node` user of the Backstage image built from the project's Dockerfile.
const backstageUID = 1000

// BackstageArgs configures the Backstage app tier.
type BackstageArgs struct {
	// Required: the namespace to run in.
	Namespace pulumi.StringInput
	// Required: the Backstage image, pinned by tag.
	Image string
	// Optional: defaults to "busybox:1.36". The image of the wait-for-postgres init container.
	InitImage string
	// Optional: defaults to 1.
	Replicas int
	// Optional: defaults to "0". A number or percentage, as in a Deployment's strategy.
	MaxUnavailable string
	// Optional: defaults to "1". A number or percentage, as in a Deployment's strategy.
	MaxSurge string
	// Required: the public DNS name Backstage is served on.
	Host string
	// Optional: defaults to "/healthcheck". Backstage 1.29 and later also serve
	// /.backstage/health/v1/readiness and /.backstage/health/v1/liveness.
	HealthCheckPath string
	// Required: the ServiceAccount the pods run as.
	ServiceAccountName pulumi.StringInput
	// Required: where the database is and how to log in.
	Database DatabaseConnection
	// Optional: GitHub credentials for the catalog and sign-in; each is left out of the
	// Secret when nil.
	GitHubToken, GitHubClientID, GitHubClientSecret pulumi.StringInput
	// Optional: defaults to "nginx".
	IngressClassName string
	// Optional: defaults to true. Terminates TLS at the Ingress and redirects HTTP to HTTPS.
	TLS bool
	// Optional: defaults to no cert-manager annotation. The ClusterIssuer that issues
	// the Ingress certificate.
	ClusterIssuer string
	// Optional: defaults to 20. Requests per second one client address may make.
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

func (a *BackstageArgs) withDefaults() (BackstageArgs, error) {
	switch {
	case a == nil || a.Namespace == nil:
		return BackstageArgs{}, fmt.Errorf("missing required field Namespace")
	case a.Image == "":
		return BackstageArgs{}, fmt.Errorf("missing required field Image")
	case a.Host == "":
		return BackstageArgs{}, fmt.Errorf("missing required field Host")
	case a.ServiceAccountName == nil:
		return BackstageArgs{}, fmt.Errorf("missing required field ServiceAccountName")
	case a.Database.Host == nil || a.Database.User == nil || a.Database.Password == nil || a.Database.Name == "":
		return BackstageArgs{}, fmt.Errorf("missing required field Database (Host, Name, User and Password)")
	case a.Replicas < 0:
		return BackstageArgs{}, fmt.Errorf("field Replicas must be at least 1, got %d", a.Replicas)
	}
	out := *a
	out.InitImage = orDefault(out.InitImage, DefaultInitImage)
	out.MaxUnavailable = orDefault(out.MaxUnavailable, "0")
	out.MaxSurge = orDefault(out.MaxSurge, "1")
	out.HealthCheckPath = orDefault(out.HealthCheckPath, "/healthcheck")
	out.IngressClassName = orDefault(out.IngressClassName, "nginx")
	if out.Replicas == 0 {
		out.Replicas = 1
	}
	if out.Database.Port == 0 {
		out.Database.Port = PostgresPort
	}
	if out.RateLimitRPS == 0 {
		out.RateLimitRPS = 20
	}
	return out, nil
}

// NewBackstage registers the Backstage app tier.
func NewBackstage(ctx *pulumi.Context, name string, in *BackstageArgs, opts ...pulumi.ResourceOption) (*Backstage, error) {
	args, err := in.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("component Backstage %q: %w", name, err)
	}
	comp := &Backstage{}
	if err := ctx.RegisterComponentResource("backstage:index:Backstage", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)
	scheme := "https"
	if !args.TLS {
		scheme = "http"
	}
	url := fmt.Sprintf("%s://%s", scheme, args.Host)

	envConfig := pulumi.StringMap{
		"NODE_ENV":                       pulumi.String("production"),
		"LOG_LEVEL":                      pulumi.String("info"),
		"POSTGRES_HOST":                  args.Database.Host,
		"POSTGRES_PORT":                  pulumi.String(strconv.Itoa(args.Database.Port)),
		"POSTGRES_DB":                    pulumi.String(args.Database.Name),
		"APP_BASE_URL":                   pulumi.String(url),
		"BACKEND_URL":                    pulumi.String(url),
		"APP_CONFIG_app_baseUrl":         pulumi.String(url),
		"APP_CONFIG_backend_baseUrl":     pulumi.String(url),
		"APP_CONFIG_backend_listen_port": pulumi.String(strconv.Itoa(BackstagePort)),
	}
	configMap, err := corev1.NewConfigMap(ctx, name+"-env-config", &corev1.ConfigMapArgs{
		Metadata: objectMeta(BackstageConfigName, args.Namespace, BackstageSelector, nil),
		Data:     envConfig,
	}, child)
	if err != nil {
		return nil, err
	}

	secretData := pulumi.StringMap{
		"POSTGRES_USER":     args.Database.User,
		"POSTGRES_PASSWORD": args.Database.Password,
	}
	for key, value := range map[string]pulumi.StringInput{
		"GITHUB_TOKEN": args.GitHubToken, "GITHUB_CLIENT_ID": args.GitHubClientID, "GITHUB_CLIENT_SECRET": args.GitHubClientSecret,
	} {
		if value != nil {
			secretData[key] = value
		}
	}
	secret, err := corev1.NewSecret(ctx, name+"-secrets", &corev1.SecretArgs{
		Metadata: objectMeta(BackstageSecretName, args.Namespace, BackstageSelector, nil),
		Type:     pulumi.String("Opaque"),
		// Every value is secret even when a caller passed a plain one.
		StringData: pulumi.ToSecret(secretData).(pulumi.StringMapOutput),
	}, child)
	if err != nil {
		return nil, err
	}

	// Backstage reads its environment once at start-up, so a change to either object's
	// data has to roll the pods; a hash of the data in the pod template does that.
	podAnnotations := pulumi.StringMap{
		"prometheus.io/scrape": pulumi.String("true"),
		"prometheus.io/port":   pulumi.String(strconv.Itoa(BackstagePort)),
		"prometheus.io/path":   pulumi.String("/metrics"),
		"checksum/config":      envConfig.ToStringMapOutput().ApplyT(checksum).(pulumi.StringOutput),
		"checksum/secrets":     secretData.ToStringMapOutput().ApplyT(checksum).(pulumi.StringOutput),
	}

	httpProbe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String(args.HealthCheckPath), Port: pulumi.String("http")},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	envFrom := corev1.EnvFromSourceArray{
		corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: configMap.Metadata.Name()}},
		corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()}},
	}
	selector := &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(BackstageSelector)}

	deployment, err := appsv1.NewDeployment(ctx, name+"-deployment", &appsv1.DeploymentArgs{
		Metadata: objectMeta(BackstageName, args.Namespace, BackstageSelector,
			kubeScoreIgnoreUID("the Backstage image runs as its node user, UID 1000; runAsNonRoot is enforced")),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas:             pulumi.Int(args.Replicas),
			RevisionHistoryLimit: pulumi.Int(5),
			Selector:             selector,
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
					MaxUnavailable: intOrPercent(args.MaxUnavailable),
					MaxSurge:       intOrPercent(args.MaxSurge),
				},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(BackstageSelector), Annotations: podAnnotations},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: args.ServiceAccountName,
					// The Kubernetes plugin reads the cluster with this pod's token.
					AutomountServiceAccountToken: pulumi.Bool(true),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext:              podSecurityContext(backstageUID),
					Affinity: &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
						PreferredDuringSchedulingIgnoredDuringExecution: corev1.WeightedPodAffinityTermArray{corev1.WeightedPodAffinityTermArgs{
							Weight: pulumi.Int(100),
							PodAffinityTerm: &corev1.PodAffinityTermArgs{
								TopologyKey:   pulumi.String("kubernetes.io/hostname"),
								LabelSelector: selector,
							},
						}},
					}},
					TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{corev1.TopologySpreadConstraintArgs{
						MaxSkew:           pulumi.Int(1),
						TopologyKey:       pulumi.String("kubernetes.io/hostname"),
						WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
						LabelSelector:     selector,
					}},
					InitContainers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:            pulumi.String("wait-for-postgres"),
						Image:           pulumi.String(args.InitImage),
						ImagePullPolicy: pulumi.String("Always"),
						Command: pulumi.ToStringArray([]string{"sh", "-c",
							`until nc -z "$POSTGRES_HOST" "$POSTGRES_PORT"; do echo "waiting for postgres at $POSTGRES_HOST:$POSTGRES_PORT"; sleep 2; done`}),
						EnvFrom: corev1.EnvFromSourceArray{envFrom[0]},
						Resources: containerResources{
							cpu: "50m", memory: "64Mi", ephemeral: "16Mi",
							cpuLimit: "100m", memoryLimit: "128Mi", ephemeralLimit: "64Mi",
						}.args(),
						SecurityContext: containerSecurityContext(backstageUID),
					}},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:            pulumi.String("backstage"),
						Image:           pulumi.String(args.Image),
						ImagePullPolicy: pulumi.String("Always"),
						Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
							Name: pulumi.String("http"), ContainerPort: pulumi.Int(BackstagePort),
						}},
						Env: corev1.EnvVarArray{
							corev1.EnvVarArgs{Name: pulumi.String("NODE_ENV"), Value: pulumi.String("production")},
							corev1.EnvVarArgs{Name: pulumi.String("NODE_OPTIONS"), Value: pulumi.String("--max-old-space-size=1024")},
						},
						EnvFrom:        envFrom,
						StartupProbe:   httpProbe(5, 24), // up to 2 minutes to start
						ReadinessProbe: httpProbe(10, 3),
						// Liveness asks only whether the process still serves: the health
						// path also fails while the database is down, and restarting every
						// pod then would turn a database blip into an outage.
						LivenessProbe: &corev1.ProbeArgs{
							TcpSocket:        &corev1.TCPSocketActionArgs{Port: pulumi.String("http")},
							PeriodSeconds:    pulumi.Int(30),
							TimeoutSeconds:   pulumi.Int(5),
							FailureThreshold: pulumi.Int(3),
						},
						Resources: containerResources{
							cpu: "250m", memory: "512Mi", ephemeral: "256Mi",
							cpuLimit: "1", memoryLimit: "2Gi", ephemeralLimit: "3Gi",
						}.args(),
						SecurityContext: containerSecurityContext(backstageUID),
						VolumeMounts: corev1.VolumeMountArray{
							corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
							corev1.VolumeMountArgs{Name: pulumi.String("app-tmp"), MountPath: pulumi.String("/app/tmp")},
						},
					}},
					Volumes: corev1.VolumeArray{scratchVolume("tmp", "1Gi"), scratchVolume("app-tmp", "1Gi")},
				},
			},
		},
	}, child)
	if err != nil {
		return nil, err
	}

	service, err := corev1.NewService(ctx, name+"-service", &corev1.ServiceArgs{
		Metadata: objectMeta(BackstageName, args.Namespace, BackstageSelector,
			pulumi.StringMap{skipAwaitAnnotation: pulumi.String("true")}),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(BackstageSelector),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(80), TargetPort: pulumi.String("http"),
			}},
			// Sign-in flows keep state per backend instance; keep a browser on one pod.
			SessionAffinity: pulumi.String("ClientIP"),
			SessionAffinityConfig: &corev1.SessionAffinityConfigArgs{
				ClientIP: &corev1.ClientIPConfigArgs{TimeoutSeconds: pulumi.Int(3 * 60 * 60)},
			},
		},
	}, child)
	if err != nil {
		return nil, err
	}

	if _, err := networkingv1.NewIngress(ctx, name+"-ingress", &networkingv1.IngressArgs{
		Metadata: objectMeta(BackstageName, args.Namespace, BackstageSelector, ingressAnnotations(args)),
		Spec:     ingressSpec(args, service),
	}, child); err != nil {
		return nil, err
	}

	if _, err := policyv1.NewPodDisruptionBudget(ctx, name+"-pdb", &policyv1.PodDisruptionBudgetArgs{
		Metadata: objectMeta(BackstageName, args.Namespace, BackstageSelector, nil),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       selector,
		},
	}, child, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
		return nil, err
	}

	comp.URL = pulumi.String(url).ToStringOutput()
	comp.Image = pulumi.String(args.Image).ToStringOutput()
	comp.DeploymentName = deployment.Metadata.Name().Elem()
	comp.ServiceName = service.Metadata.Name().Elem()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"url":            comp.URL,
		"image":          comp.Image,
		"deploymentName": comp.DeploymentName,
		"serviceName":    comp.ServiceName,
	})
}

func ingressAnnotations(args BackstageArgs) pulumi.StringMap {
	annotations := pulumi.StringMap{
		skipAwaitAnnotation:                                  pulumi.String("true"),
		"nginx.ingress.kubernetes.io/limit-rps":              pulumi.String(strconv.Itoa(args.RateLimitRPS)),
		"nginx.ingress.kubernetes.io/limit-burst-multiplier": pulumi.String("5"),
		"nginx.ingress.kubernetes.io/limit-connections":      pulumi.String(strconv.Itoa(args.RateLimitRPS)),
		"nginx.ingress.kubernetes.io/proxy-body-size":        pulumi.String("10m"),
	}
	if args.TLS {
		annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] = pulumi.String("true")
		if args.ClusterIssuer != "" {
			annotations["cert-manager.io/cluster-issuer"] = pulumi.String(args.ClusterIssuer)
		}
	}
	return annotations
}

func ingressSpec(args BackstageArgs, service *corev1.Service) *networkingv1.IngressSpecArgs {
	spec := &networkingv1.IngressSpecArgs{
		IngressClassName: pulumi.String(args.IngressClassName),
		Rules: networkingv1.IngressRuleArray{networkingv1.IngressRuleArgs{
			Host: pulumi.String(args.Host),
			Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{networkingv1.HTTPIngressPathArgs{
				Path:     pulumi.String("/"),
				PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: service.Metadata.Name().Elem(),
					Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String("http")},
				}},
			}}},
		}},
	}
	if args.TLS {
		spec.Tls = networkingv1.IngressTLSArray{networkingv1.IngressTLSArgs{
			Hosts:      pulumi.StringArray{pulumi.String(args.Host)},
			SecretName: pulumi.String(BackstageName + "-tls"),
		}}
	}
	return spec
}

// intOrPercent passes "25%" as a string and "1" as a number, as the API expects.
func intOrPercent(v string) pulumi.Input {
	if parsed := intstr.Parse(v); parsed.Type == intstr.Int {
		return pulumi.Int(parsed.IntValue())
	}
	return pulumi.String(v)
}
