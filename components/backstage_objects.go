package components

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// The desired objects of the Backstage tier, one plain function each, in the manner of
// a controller's "desired state" builders: no registration here, only shapes.

// The `node` user of the Backstage image built from the project's Dockerfile.
const backstageUID = 1000

// Where the pod finds the files the program mounts.
const (
	appConfigFile      = "app-config.extra.yaml"
	databaseConfigFile = "app-config.database.yaml"
	appConfigDir       = "/app/config-extra"
	caBundleFile       = "ca.crt"
	caBundleDir        = "/etc/backstage/ca"
)

// backstageEnv is the non-secret environment, read once at start-up: the user's, then
// the program's own, whose names the user cannot take.
func backstageEnv(spec backstageSpec) pulumi.StringMap {
	env := pulumi.StringMap{}
	for name, value := range spec.Env {
		env[name] = pulumi.String(value)
	}
	if spec.CABundle != "" {
		env["NODE_EXTRA_CA_CERTS"] = pulumi.String(caBundleDir + "/" + caBundleFile)
	}
	if spec.Database.SSLMode != "" {
		// For libpq's tools (psql, pg_dump), which Backstage's driver does not read.
		env["PGSSLMODE"] = pulumi.String(spec.Database.SSLMode)
	}
	for name, value := range programEnv(spec) {
		env[name] = value
	}
	return env
}

func programEnv(spec backstageSpec) pulumi.StringMap {
	return pulumi.StringMap{
		"NODE_ENV":                       pulumi.String("production"),
		"LOG_LEVEL":                      pulumi.String("info"),
		"POSTGRES_HOST":                  spec.Database.Host,
		"POSTGRES_PORT":                  pulumi.String(strconv.Itoa(spec.Database.Port)),
		"POSTGRES_DB":                    pulumi.String(spec.Database.Name),
		"APP_BASE_URL":                   pulumi.String(spec.url),
		"BACKEND_URL":                    pulumi.String(spec.url),
		"APP_CONFIG_app_baseUrl":         pulumi.String(spec.url),
		"APP_CONFIG_backend_baseUrl":     pulumi.String(spec.url),
		"APP_CONFIG_backend_listen_port": pulumi.String(strconv.Itoa(BackstagePort)),
	}
}

func backstageConfigMap(spec backstageSpec, env pulumi.StringMap) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: objectMeta(BackstageConfigName, spec.Namespace, BackstageSelector, nil),
		Data:     env,
	}
}

// backstageSecretData holds every credential the pods read; optional ones are left out
// when not given.
func backstageSecretData(spec backstageSpec, backendSecret pulumi.StringInput) pulumi.StringMap {
	data := pulumi.StringMap{}
	for name, value := range spec.SecretEnv {
		data[name] = value
	}
	data["POSTGRES_USER"] = spec.Database.User
	data["POSTGRES_PASSWORD"] = spec.Database.Password
	data["BACKEND_SECRET"] = backendSecret
	for key, value := range map[string]pulumi.StringInput{
		"GITHUB_TOKEN": spec.GitHubToken, "GITHUB_CLIENT_ID": spec.GitHubClientID, "GITHUB_CLIENT_SECRET": spec.GitHubClientSecret,
	} {
		if value != nil {
			data[key] = value
		}
	}
	return data
}

func backstageSecret(spec backstageSpec, data pulumi.StringMap) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata: objectMeta(BackstageSecretName, spec.Namespace, BackstageSelector, nil),
		Type:     pulumi.String("Opaque"),
		// Every value is secret even when a caller passed a plain one.
		StringData: pulumi.ToSecret(data).(pulumi.StringMapOutput),
	}
}

// appConfigData renders the app-config files the program passes with --config: the
// stack's, then the database's: its TLS, which node-postgres takes only from app-config
// (it ignores PGSSLMODE), last so that nothing overrides it, and the pool size that
// fits the connection budget unless the stack's own app-config sets one.
func appConfigData(spec backstageSpec) (map[string]string, error) {
	files := map[string]string{}
	if len(spec.AppConfig) > 0 {
		out, err := yaml.Marshal(spec.AppConfig)
		if err != nil {
			return nil, err
		}
		files[appConfigFile] = string(out)
	}
	database := map[string]any{}
	if spec.Database.SSLMode != "" {
		ssl := map[string]any{
			// require encrypts without checking the certificate; both verify modes check
			// it, and node-postgres checks the host name too (verify-full) as it has no
			// verify-ca of its own.
			"rejectUnauthorized": spec.Database.SSLMode != "require",
		}
		if spec.Database.CABundle != "" {
			ssl["ca"] = strings.TrimSpace(spec.Database.CABundle) + "\n"
		}
		database["connection"] = map[string]any{"ssl": ssl}
	}
	if _, set := AppConfigValue(spec.AppConfig, PoolMaxPath...); spec.Database.PoolMax > 0 && !set {
		database["knexConfig"] = map[string]any{"pool": map[string]any{"max": spec.Database.PoolMax}}
	}
	if len(database) > 0 {
		out, err := yaml.Marshal(map[string]any{"backend": map[string]any{"database": database}})
		if err != nil {
			return nil, err
		}
		files[databaseConfigFile] = string(out)
	}
	return files, nil
}

// PoolMaxPath is where app-config sets the pool max of every plugin.
var PoolMaxPath = []string{"backend", "database", "knexConfig", "pool", "max"}

// AppConfigValue is the value at path in an app-config, and whether it is set.
func AppConfigValue(appConfig map[string]any, path ...string) (any, bool) {
	var node any = appConfig
	for _, key := range path {
		object, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = object[key]; !ok {
			return nil, false
		}
	}
	return node, true
}

// appConfigLoadOrder lists the app-config files as Backstage must load them: the
// stack's, then the database's.
func appConfigLoadOrder(files map[string]string) []string {
	var out []string
	for _, name := range []string{appConfigFile, databaseConfigFile} {
		if _, ok := files[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

// fileConfigMap holds files the pods mount read-only.
func fileConfigMap(name string, spec backstageSpec, files map[string]string) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: objectMeta(name, spec.Namespace, BackstageSelector, nil),
		Data:     pulumi.ToStringMap(files),
	}
}

// registrySecret is the registry login as a pull Secret.
func registrySecret(spec backstageSpec) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata:   objectMeta(BackstageRegistryName, spec.Namespace, BackstageSelector, nil),
		Type:       pulumi.String("kubernetes.io/dockerconfigjson"),
		StringData: pulumi.StringMap{".dockerconfigjson": spec.RegistryAuth.dockerConfigJSON()},
	}
}

// serviceMonitor asks a prometheus-operator to scrape the metrics port.
func serviceMonitor(spec backstageSpec) *apiextensions.CustomResourceArgs {
	return &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.coreos.com/v1"),
		Kind:       pulumi.String("ServiceMonitor"),
		Metadata:   objectMeta(BackstageName, spec.Namespace, BackstageSelector, nil),
		OtherFields: map[string]any{"spec": pulumi.Map{
			"selector":  pulumi.Map{"matchLabels": pulumi.ToStringMap(BackstageSelector)},
			"endpoints": pulumi.Array{pulumi.Map{"port": pulumi.String("metrics"), "path": pulumi.String("/metrics")}},
		}},
	}
}

// backstagePodInputs are what the pod template takes from the objects registered before it.
type backstagePodInputs struct {
	configMapName, secretName pulumi.StringPtrInput
	// Hashes of the ConfigMap's and the Secret's data: Backstage reads its environment
	// once at start-up, so a change to either has to roll the pods.
	configHash, secretHash pulumi.StringInput
	// Set when the stack has app-config, a CA bundle or a registry login.
	appConfigName, caBundleName pulumi.StringPtrInput
	// appConfigFiles are the files of the app-config ConfigMap, in load order.
	appConfigFiles              []string
	appConfigHash, caBundleHash pulumi.StringInput
	registrySecretName          pulumi.StringInput
}

// runningReplicas is Replicas, or none while stopped for maintenance.
func (spec backstageSpec) runningReplicas() int {
	if spec.Stopped {
		return 0
	}
	return spec.Replicas
}

// preStopPause keeps a stopping pod serving while the endpoints controller and the
// ingress controller take it out of rotation, so rollouts drop no requests.
const (
	preStopPauseSeconds           = 10
	terminationGracePeriodSeconds = 45
)

func backstageDeployment(spec backstageSpec, in backstagePodInputs) *appsv1.DeploymentArgs {
	selector := labelSelector(BackstageSelector)
	envFrom := corev1.EnvFromSourceArray{
		corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: in.configMapName}},
		corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: in.secretName}},
	}
	annotations := pulumi.StringMap{
		"checksum/config":  in.configHash,
		"checksum/secrets": in.secretHash,
	}
	volumes := corev1.VolumeArray{scratchVolume("tmp", "1Gi"), scratchVolume("app-tmp", "1Gi")}
	if in.appConfigName != nil {
		annotations["checksum/app-config"] = in.appConfigHash
		volumes = append(volumes, configMapVolume("app-config", in.appConfigName))
	}
	if in.caBundleName != nil {
		annotations["checksum/ca-bundle"] = in.caBundleHash
		volumes = append(volumes, configMapVolume("ca-bundle", in.caBundleName))
	}
	if spec.Metrics != nil {
		// On the exporter's port only: 7007 is what the Ingress publishes.
		annotations["prometheus.io/scrape"] = pulumi.String("true")
		annotations["prometheus.io/port"] = pulumi.String(strconv.Itoa(spec.Metrics.Port))
		annotations["prometheus.io/path"] = pulumi.String("/metrics")
	}
	var pullSecrets corev1.LocalObjectReferenceArray
	for _, name := range spec.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReferenceArgs{Name: pulumi.String(name)})
	}
	if in.registrySecretName != nil {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReferenceArgs{Name: in.registrySecretName})
	}
	strategy := &appsv1.DeploymentStrategyArgs{Type: pulumi.String(spec.RolloutStrategy)}
	if spec.RolloutStrategy == DefaultRolloutStrategy {
		strategy.RollingUpdate = &appsv1.RollingUpdateDeploymentArgs{
			MaxUnavailable: intOrPercent(spec.MaxUnavailable),
			MaxSurge:       intOrPercent(spec.MaxSurge),
		}
	}
	return &appsv1.DeploymentArgs{
		Metadata: objectMeta(BackstageName, spec.Namespace, BackstageSelector,
			kubeScoreIgnoreUID("the Backstage image runs as its node user, UID 1000; runAsNonRoot is enforced")),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas:             pulumi.Int(spec.runningReplicas()),
			RevisionHistoryLimit: pulumi.Int(5),
			Selector:             selector,
			Strategy:             strategy,
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels:      pulumi.ToStringMap(BackstageSelector),
					Annotations: annotations,
				},
				Spec: &corev1.PodSpecArgs{
					ImagePullSecrets:              pullSecrets,
					NodeSelector:                  spec.Scheduling.nodeSelector(),
					Tolerations:                   spec.Scheduling.tolerations(),
					PriorityClassName:             spec.Scheduling.priorityClassName(),
					TerminationGracePeriodSeconds: pulumi.Int(terminationGracePeriodSeconds),
					ServiceAccountName:            spec.ServiceAccountName,
					// The Kubernetes plugin reads the cluster with this pod's token.
					AutomountServiceAccountToken: pulumi.Bool(true),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext:              podSecurityContext(backstageUID),
					Affinity:                     spreadAcrossNodes(selector),
					TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{corev1.TopologySpreadConstraintArgs{
						MaxSkew:           pulumi.Int(1),
						TopologyKey:       pulumi.String(hostnameTopologyKey),
						WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
						LabelSelector:     selector,
					}},
					InitContainers: corev1.ContainerArray{waitForPostgresContainer(spec, envFrom[0])},
					Containers:     corev1.ContainerArray{backstageContainer(spec, envFrom, in)},
					Volumes:        volumes,
				},
			},
		},
	}
}

// waitForPostgresContainer holds the app back until the database accepts connections,
// so that a fresh install does not crash-loop through Backstage's migrations.
func waitForPostgresContainer(spec backstageSpec, env corev1.EnvFromSourceInput) corev1.ContainerArgs {
	return corev1.ContainerArgs{
		Name:            pulumi.String("wait-for-postgres"),
		Image:           pulumi.String(spec.InitImage),
		ImagePullPolicy: pulumi.String(spec.ImagePullPolicy),
		Command: pulumi.ToStringArray([]string{"sh", "-c",
			`until nc -z "$POSTGRES_HOST" "$POSTGRES_PORT"; do echo "waiting for postgres at $POSTGRES_HOST:$POSTGRES_PORT"; sleep 2; done`}),
		EnvFrom: corev1.EnvFromSourceArray{env},
		Resources: containerResources{
			cpu: "50m", memory: "64Mi", ephemeral: "16Mi",
			cpuLimit: "100m", memoryLimit: "128Mi", ephemeralLimit: "64Mi",
		}.args(),
		SecurityContext: containerSecurityContext(backstageUID),
	}
}

// backstageArgs loads the image's own app-config files, then the stack's, so the stack's
// values win, as the official chart orders them.
func backstageArgs(spec backstageSpec, mounted []string) []string {
	var args []string
	for _, file := range spec.AppConfigBaseFiles {
		args = append(args, "--config", file)
	}
	for _, file := range mounted {
		args = append(args, "--config", appConfigDir+"/"+file)
	}
	return args
}

func backstageContainer(spec backstageSpec, envFrom corev1.EnvFromSourceArray, in backstagePodInputs) corev1.ContainerArgs {
	httpProbe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String(spec.HealthCheckPath), Port: pulumi.String("http")},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	ports := corev1.ContainerPortArray{corev1.ContainerPortArgs{
		Name: pulumi.String("http"), ContainerPort: pulumi.Int(BackstagePort),
	}}
	if spec.Metrics != nil {
		ports = append(ports, corev1.ContainerPortArgs{Name: pulumi.String("metrics"), ContainerPort: pulumi.Int(spec.Metrics.Port)})
	}
	mounts := corev1.VolumeMountArray{volumeMount("tmp", "/tmp"), volumeMount("app-tmp", "/app/tmp")}
	if in.appConfigName != nil {
		mounts = append(mounts, readOnlyMount("app-config", appConfigDir))
	}
	if in.caBundleName != nil {
		mounts = append(mounts, readOnlyMount("ca-bundle", caBundleDir))
	}
	return corev1.ContainerArgs{
		Name:            pulumi.String("backstage"),
		Image:           pulumi.String(spec.Image),
		ImagePullPolicy: pulumi.String(spec.ImagePullPolicy),
		Command:         pulumi.ToStringArray([]string{"node", "packages/backend"}),
		Args:            pulumi.ToStringArray(backstageArgs(spec, in.appConfigFiles)),
		Ports:           ports,
		Env: corev1.EnvVarArray{
			corev1.EnvVarArgs{Name: pulumi.String("NODE_ENV"), Value: pulumi.String("production")},
			corev1.EnvVarArgs{Name: pulumi.String("NODE_OPTIONS"), Value: pulumi.String(fmt.Sprintf("--max-old-space-size=%d", spec.Resources.nodeHeapMiB()))},
		},
		Lifecycle: &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
			Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(preStopPauseSeconds)},
		}},
		EnvFrom:        envFrom,
		StartupProbe:   httpProbe(5, 24), // up to 2 minutes to start
		ReadinessProbe: httpProbe(10, 3),
		// Liveness asks only whether the process still serves: the health path also
		// fails while the database is down, and restarting every pod then would turn a
		// database blip into an outage.
		LivenessProbe:   tcpLivenessProbe("http", 3),
		Resources:       spec.Resources.args("256Mi", "3Gi"),
		SecurityContext: containerSecurityContext(backstageUID),
		VolumeMounts:    mounts,
	}
}

func backstageService(spec backstageSpec) *corev1.ServiceArgs {
	ports := corev1.ServicePortArray{corev1.ServicePortArgs{
		Name: pulumi.String("http"), Port: pulumi.Int(80), TargetPort: pulumi.String("http"),
	}}
	if spec.Metrics != nil {
		ports = append(ports, corev1.ServicePortArgs{
			Name: pulumi.String("metrics"), Port: pulumi.Int(spec.Metrics.Port), TargetPort: pulumi.String("metrics"),
		})
	}
	return &corev1.ServiceArgs{
		Metadata: objectMeta(BackstageName, spec.Namespace, BackstageSelector,
			pulumi.StringMap{skipAwaitAnnotation: pulumi.String("true")}),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(BackstageSelector),
			Ports:    ports,
			// Sign-in flows keep state per backend instance; keep a browser on one pod.
			SessionAffinity: pulumi.String("ClientIP"),
			SessionAffinityConfig: &corev1.SessionAffinityConfigArgs{
				ClientIP: &corev1.ClientIPConfigArgs{TimeoutSeconds: pulumi.Int(3 * 60 * 60)},
			},
		},
	}
}

func backstageIngress(spec backstageSpec, serviceName pulumi.StringInput) *networkingv1.IngressArgs {
	annotations := pulumi.StringMap{
		skipAwaitAnnotation:                                  pulumi.String("true"),
		"nginx.ingress.kubernetes.io/limit-rps":              pulumi.String(strconv.Itoa(spec.RateLimitRPS)),
		"nginx.ingress.kubernetes.io/limit-burst-multiplier": pulumi.String("5"),
		"nginx.ingress.kubernetes.io/limit-connections":      pulumi.String(strconv.Itoa(spec.RateLimitRPS)),
		"nginx.ingress.kubernetes.io/proxy-body-size":        pulumi.String("10m"),
	}
	ingressSpec := &networkingv1.IngressSpecArgs{
		IngressClassName: pulumi.String(spec.IngressClassName),
		Rules: networkingv1.IngressRuleArray{networkingv1.IngressRuleArgs{
			Host: pulumi.String(spec.Host),
			Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{networkingv1.HTTPIngressPathArgs{
				Path:     pulumi.String("/"),
				PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: serviceName,
					Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String("http")},
				}},
			}}},
		}},
	}
	if spec.tls {
		annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] = pulumi.String("true")
		if spec.ClusterIssuer != "" && spec.ClusterIssuer != IssuerNone {
			annotations["cert-manager.io/cluster-issuer"] = pulumi.String(string(spec.ClusterIssuer))
		}
		ingressSpec.Tls = networkingv1.IngressTLSArray{networkingv1.IngressTLSArgs{
			Hosts:      pulumi.StringArray{pulumi.String(spec.Host)},
			SecretName: pulumi.String(BackstageName + "-tls"),
		}}
	}
	return &networkingv1.IngressArgs{
		Metadata: objectMeta(BackstageName, spec.Namespace, BackstageSelector, annotations),
		Spec:     ingressSpec,
	}
}
