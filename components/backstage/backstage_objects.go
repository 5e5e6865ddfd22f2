package backstage

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
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
		env["NODE_EXTRA_CA_CERTS"] = pulumi.String(caBundleDir + "/" + names.CABundleKey)
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
		"APP_CONFIG_backend_listen_port": pulumi.String(strconv.Itoa(names.BackstagePort)),
	}
}

func backstageConfigMap(refs *kube.Refs, spec backstageSpec, env pulumi.StringMap) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageConfigName, spec.Namespace, names.BackstageSelector, nil),
		Data:       refs.Map(env),
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

func backstageSecret(refs *kube.Refs, spec backstageSpec, data pulumi.StringMap) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageSecretName, spec.Namespace, names.BackstageSelector, nil),
		Type:       corev1.SecretTypeOpaque,
		// Every value is secret even when a caller passed a plain one: kube.Register
		// marks a Secret's whole data secret, as the SDK's Secret does.
		StringData: refs.Map(data),
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
func fileConfigMap(refs *kube.Refs, name string, spec backstageSpec, files map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: workload.ObjectMeta(refs, name, spec.Namespace, names.BackstageSelector, nil),
		Data:       files,
	}
}

// registrySecret is the registry login as a pull Secret.
func registrySecret(refs *kube.Refs, spec backstageSpec) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageRegistryName, spec.Namespace, names.BackstageSelector, nil),
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: refs.String(spec.RegistryAuth.dockerConfigJSON())},
	}
}

// serviceMonitor asks a prometheus-operator to scrape the metrics port.
func serviceMonitor(refs *kube.Refs, spec backstageSpec) *kube.Custom {
	return &kube.Custom{
		APIVersion: "monitoring.coreos.com/v1",
		Kind:       "ServiceMonitor",
		Metadata:   workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector, nil),
		Spec: map[string]any{
			"selector":  map[string]any{"matchLabels": names.BackstageSelector},
			"endpoints": []any{map[string]any{"port": "metrics", "path": "/metrics"}},
		},
	}
}

// backstagePodInputs are what the pod template takes from the objects registered before it.
type backstagePodInputs struct {
	configMapName, secretName pulumi.StringInput
	// Hashes of the ConfigMap's and the Secret's data: Backstage reads its environment
	// once at start-up, so a change to either has to roll the pods.
	configHash, secretHash pulumi.StringInput
	// Set when the stack has app-config, a CA bundle or a registry login.
	appConfigName, caBundleName pulumi.StringInput
	// appConfigFiles are the files of the app-config ConfigMap, in load order.
	appConfigFiles              []string
	appConfigHash, caBundleHash pulumi.StringInput
	registrySecretName          pulumi.StringInput
}

// replicas is Replicas, none while stopped for maintenance, or left to the autoscaler
// (nil: the field is not applied, so the autoscaler's count stands).
func (spec backstageSpec) replicas() *int32 {
	switch {
	case spec.Stopped:
		return ptr.To[int32](0)
	case spec.Autoscaling != nil:
		return nil
	}
	return ptr.To(int32(spec.Replicas))
}

// preStopPause keeps a stopping pod serving while the endpoints controller and the
// ingress controller take it out of rotation, so rollouts drop no requests.
const (
	preStopPauseSeconds           = 10
	terminationGracePeriodSeconds = 45
)

func backstageDeployment(refs *kube.Refs, spec backstageSpec, in backstagePodInputs) *appsv1.Deployment {
	selector := workload.LabelSelector(names.BackstageSelector)
	programEnvFrom := []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: refs.String(in.configMapName)}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: refs.String(in.secretName)}}},
	}
	// When a key is in more than one source the last one wins, so the program's
	// variables come after the stack's existing objects.
	envFrom := append(envFromObjects(spec), programEnvFrom...)
	annotations := maps.Clone(spec.PodAnnotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["checksum/config"] = refs.String(in.configHash)
	annotations["checksum/secrets"] = refs.String(in.secretHash)
	labels := maps.Clone(spec.PodLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, names.BackstageSelector)
	volumes := []corev1.Volume{workload.ScratchVolume("tmp", "1Gi"), workload.ScratchVolume("app-tmp", "1Gi")}
	if in.appConfigName != nil {
		annotations["checksum/app-config"] = refs.String(in.appConfigHash)
		volumes = append(volumes, workload.ConfigMapVolume(refs, "app-config", in.appConfigName))
	}
	if in.caBundleName != nil {
		annotations["checksum/ca-bundle"] = refs.String(in.caBundleHash)
		volumes = append(volumes, workload.ConfigMapVolume(refs, "ca-bundle", in.caBundleName))
	}
	volumes = append(volumes, spec.ExtraVolumes...)
	if spec.Metrics != nil {
		// On the exporter's port only: 7007 is what the Ingress publishes.
		annotations["prometheus.io/scrape"] = "true"
		annotations["prometheus.io/port"] = strconv.Itoa(spec.Metrics.Port)
		annotations["prometheus.io/path"] = "/metrics"
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, name := range spec.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: name})
	}
	if in.registrySecretName != nil {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: refs.String(in.registrySecretName)})
	}
	strategy := appsv1.DeploymentStrategy{Type: appsv1.DeploymentStrategyType(spec.RolloutStrategy)}
	if spec.RolloutStrategy == DefaultRolloutStrategy {
		strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{
			MaxUnavailable: workload.IntOrPercent(spec.MaxUnavailable),
			MaxSurge:       workload.IntOrPercent(spec.MaxSurge),
		}
	}
	return &appsv1.Deployment{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector,
			workload.KubeScoreIgnoreUID("the Backstage image runs as its node user, UID 1000; runAsNonRoot is enforced")),
		Spec: appsv1.DeploymentSpec{
			Replicas:             spec.replicas(),
			RevisionHistoryLimit: ptr.To[int32](5),
			Selector:             selector,
			Strategy:             strategy,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: annotations,
				},
				Spec: corev1.PodSpec{
					ImagePullSecrets:              pullSecrets,
					NodeSelector:                  spec.Scheduling.NodeSelector,
					Tolerations:                   spec.Scheduling.Tolerations,
					PriorityClassName:             spec.Scheduling.PriorityClassName,
					TerminationGracePeriodSeconds: ptr.To[int64](terminationGracePeriodSeconds),
					ServiceAccountName:            refs.String(spec.ServiceAccountName),
					// The Kubernetes plugin reads the cluster with this pod's token.
					AutomountServiceAccountToken: ptr.To(workload.BoolOr(spec.AutomountServiceAccountToken, true)),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext:              workload.PodSecurityContext(backstageUID),
					Affinity:                     mergeAffinity(workload.SpreadAcrossNodes(selector), spec.Affinity),
					TopologySpreadConstraints:    spreadConstraints(spec.TopologySpreadConstraints, selector),
					// Sidecars start first, so that a database proxy among them serves
					// wait-for-postgres; the stack's init containers run once the
					// database answers.
					InitContainers: slices.Concat(
						withRestrictedDefaults(spec.Sidecars, true),
						[]corev1.Container{waitForPostgresContainer(spec, programEnvFrom[0])},
						withRestrictedDefaults(spec.InitContainers, false),
					),
					Containers: []corev1.Container{backstageContainer(spec, envFrom, in)},
					Volumes:    volumes,
				},
			},
		},
	}
}

// waitForPostgresContainer holds the app back until the database accepts connections,
// so that a fresh install does not crash-loop through Backstage's migrations.
func waitForPostgresContainer(spec backstageSpec, env corev1.EnvFromSource) corev1.Container {
	return corev1.Container{
		Name:            "wait-for-postgres",
		Image:           spec.InitImage,
		ImagePullPolicy: corev1.PullPolicy(spec.ImagePullPolicy),
		Command: []string{"sh", "-c",
			`until nc -z "$POSTGRES_HOST" "$POSTGRES_PORT"; do echo "waiting for postgres at $POSTGRES_HOST:$POSTGRES_PORT"; sleep 2; done`},
		EnvFrom: []corev1.EnvFromSource{env},
		Resources: workload.ContainerResources{
			CPU: "50m", Memory: "64Mi", Ephemeral: "16Mi",
			CPULimit: "100m", MemoryLimit: "128Mi", EphemeralLimit: "64Mi",
		}.Requirements(),
		SecurityContext: workload.ContainerSecurityContext(backstageUID),
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

func backstageContainer(spec backstageSpec, envFrom []corev1.EnvFromSource, in backstagePodInputs) corev1.Container {
	httpProbe := func(period, failures int32, timings *ProbeTimings) *corev1.Probe {
		return probeWith(&corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: spec.HealthCheckPath, Port: intstr.FromString("http")}},
			PeriodSeconds:    period,
			TimeoutSeconds:   5,
			FailureThreshold: failures,
		}, timings)
	}
	probes := spec.Probes
	if probes == nil {
		probes = &Probes{}
	}
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: names.BackstagePort}}
	if spec.Metrics != nil {
		ports = append(ports, corev1.ContainerPort{Name: "metrics", ContainerPort: int32(spec.Metrics.Port)})
	}
	mounts := []corev1.VolumeMount{workload.VolumeMount("tmp", "/tmp"), workload.VolumeMount("app-tmp", "/app/tmp")}
	if in.appConfigName != nil {
		mounts = append(mounts, workload.ReadOnlyMount("app-config", appConfigDir))
	}
	if in.caBundleName != nil {
		mounts = append(mounts, workload.ReadOnlyMount("ca-bundle", caBundleDir))
	}
	mounts = append(mounts, spec.ExtraVolumeMounts...)
	return corev1.Container{
		Name:            "backstage",
		Image:           spec.Image,
		ImagePullPolicy: corev1.PullPolicy(spec.ImagePullPolicy),
		Command:         []string{"node", "packages/backend"},
		Args:            backstageArgs(spec, in.appConfigFiles),
		Ports:           ports,
		Env: []corev1.EnvVar{
			{Name: "NODE_ENV", Value: "production"},
			{Name: "NODE_OPTIONS", Value: fmt.Sprintf("--max-old-space-size=%d", spec.Resources.NodeHeapMiB())},
		},
		Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Sleep: &corev1.SleepAction{Seconds: preStopPauseSeconds},
		}},
		EnvFrom:        envFrom,
		StartupProbe:   httpProbe(5, 24, probes.Startup), // up to 2 minutes to start
		ReadinessProbe: httpProbe(10, 3, probes.Readiness),
		// Liveness asks only whether the process still serves: the health path also
		// fails while the database is down, and restarting every pod then would turn a
		// database blip into an outage.
		LivenessProbe:   probeWith(workload.TCPLivenessProbe("http", 3), probes.Liveness),
		Resources:       spec.Resources.Requirements("256Mi", "3Gi"),
		SecurityContext: workload.ContainerSecurityContext(backstageUID),
		VolumeMounts:    mounts,
	}
}

func backstageService(refs *kube.Refs, spec backstageSpec) *corev1.Service {
	ports := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}
	if spec.Metrics != nil {
		ports = append(ports, corev1.ServicePort{
			Name: "metrics", Port: int32(spec.Metrics.Port), TargetPort: intstr.FromString("metrics"),
		})
	}
	return &corev1.Service{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector, map[string]string{workload.SkipAwaitAnnotation: "true"}),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: names.BackstageSelector,
			Ports:    ports,
			// Sign-in flows keep state per backend instance; keep a browser on one pod.
			SessionAffinity: corev1.ServiceAffinityClientIP,
			SessionAffinityConfig: &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](3 * 60 * 60)},
			},
		},
	}
}

func backstageIngress(refs *kube.Refs, spec backstageSpec, serviceName pulumi.StringInput) *networkingv1.Ingress {
	annotations := map[string]string{
		workload.SkipAwaitAnnotation:                         "true",
		"nginx.ingress.kubernetes.io/limit-rps":              strconv.Itoa(spec.RateLimitRPS),
		"nginx.ingress.kubernetes.io/limit-burst-multiplier": "5",
		"nginx.ingress.kubernetes.io/limit-connections":      strconv.Itoa(spec.RateLimitRPS),
		"nginx.ingress.kubernetes.io/proxy-body-size":        "10m",
	}
	ingressSpec := networkingv1.IngressSpec{
		IngressClassName: &spec.IngressClassName,
		Rules: []networkingv1.IngressRule{{
			Host: spec.Host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path:     "/",
				PathType: ptr.To(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: refs.String(serviceName),
					Port: networkingv1.ServiceBackendPort{Name: "http"},
				}},
			}}}},
		}},
	}
	if spec.tls {
		annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] = "true"
		if spec.ClusterIssuer != "" && spec.ClusterIssuer != edge.IssuerNone {
			annotations["cert-manager.io/cluster-issuer"] = string(spec.ClusterIssuer)
		}
		ingressSpec.TLS = []networkingv1.IngressTLS{{
			Hosts:      []string{spec.Host},
			SecretName: names.BackstageName + "-tls",
		}}
	}
	return &networkingv1.Ingress{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector, annotations),
		Spec:       ingressSpec,
	}
}
