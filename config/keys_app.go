package config

import (
	"errors"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// The keys that configure Backstage itself and its pods: app-config, environment,
// images, trust, resources, scheduling, metrics and rollouts. They follow keys.go's in
// the table (Go initialises this file's variables after keys.go's).

var KeyAppConfig = &Key[map[string]any]{
	Setting: Setting{Name: "appConfig", InProduction: "options Backstage marks dangerous, CORS for any origin with credentials, URL reading from any host", Example: "{app: {title: Backstage}}",
		Description: "app-config merged over the image's files (a YAML map; credentials as ${ENV_NAME} with secretEnv), mounted from the ConfigMap backstage-app-config."},
	Into: func(s *Stack) *map[string]any { return &s.App.AppConfig },
	Check: func(c map[string]any) error {
		return errors.Join(noLiteralCredentials(c), backstage.CheckAppConfigOwnership(c))
	},
	Production: noDangerousAppConfig,
	Warn:       func(c map[string]any) string { return warnOf(noDangerousAppConfig(c)) },
}

var KeyAppConfigBaseFiles = &Key[[]string]{
	Setting: Setting{Name: "appConfigBaseFiles", Example: "app-config.yaml",
		Description: "The image's own app-config files, passed with --config before appConfig (a YAML list)."},
	Default: backstage.DefaultAppConfigBaseFiles,
	Into:    func(s *Stack) *[]string { return &s.App.AppConfigBaseFiles },
	Check:   appConfigFiles,
}

var KeyEnv = &Key[map[string]string]{
	Setting: Setting{Name: "env", InProduction: "NODE_TLS_REJECT_UNAUTHORIZED, NODE_PATH, LD_PRELOAD and the like", Example: "{LOG_LEVEL_PLUGINS: debug}",
		Description: "Plain environment variables for Backstage (a YAML map), into the ConfigMap backstage-env-config."},
	Into:       func(s *Stack) *map[string]string { return &s.App.Env },
	Check:      func(env map[string]string) error { return errors.Join(envNames(env), noPlainCredentials(env)) },
	Production: noUnsafeEnv[string],
	Warn:       func(env map[string]string) string { return warnOf(noUnsafeEnv(env)) },
}

var KeySecretEnv = &Key[SecretStrings]{
	Setting: Setting{Name: "secretEnv", InProduction: "NODE_TLS_REJECT_UNAUTHORIZED, NODE_PATH, LD_PRELOAD and the like", Secret: true, Example: "<value>",
		Description: "Secret environment variables (each set with `pulumi config set --secret --path 'backstage:secretEnv.NAME'`), into the Secret backstage-secrets."},
	Into:       func(s *Stack) *SecretStrings { return (*SecretStrings)(&s.App.SecretEnv) },
	Check:      func(env SecretStrings) error { return envNames(env) },
	Production: func(env SecretStrings) error { return noUnsafeEnv(env) },
}

var KeyBackendSecret = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "backendSecret", Secret: true, Example: "<48 random characters>",
		Description: "BACKEND_SECRET, for backend.auth.keys and external access tokens; when unset, generated once with pulumi-random and kept in state."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.App.BackendSecret },
}

var KeyImagePullSecrets = &Key[[]string]{
	Setting: Setting{Name: "imagePullSecrets", Example: "ghcr-pull",
		Description: "Existing pull Secrets in the namespace for the Backstage image (a YAML list)."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.App.ImagePullSecrets },
	Check:   each(dnsSubdomain("Secret")),
}

var KeyRegistryAuth = &Key[*RegistryLogin]{
	Setting: Setting{Name: "registryAuth", Secret: true, Example: "{server: ghcr.io, username: bot, password: <token>}",
		Description: "A registry login (server, username, password), turned into the pull Secret backstage-registry."},
	Into: func(s *Stack) **RegistryLogin { return &s.RegistryAuth },
}

var KeyImagePullPolicy = &Key[string]{
	Setting: Setting{Name: "imagePullPolicy", Example: "IfNotPresent",
		Description: "Always asks the registry at every start; IfNotPresent suits pinned tags and digests and keeps pods starting through a registry outage."},
	Default: backstage.DefaultImagePullPolicy,
	Into:    func(s *Stack) *string { return &s.App.ImagePullPolicy },
	Check:   oneOf("Always", "IfNotPresent", "Never"),
}

var KeyCABundle = &Key[string]{
	Setting: Setting{Name: "caBundle", Example: "-----BEGIN CERTIFICATE-----...",
		Description: "PEM certificates Backstage trusts besides the public CAs (GitHub Enterprise, LDAPS, an internal registry), via NODE_EXTRA_CA_CERTS."},
	Into:  func(s *Stack) *string { return &s.App.CABundle },
	Check: pemCertificates,
}

var KeyResources = &Key[Resources]{
	Setting: Setting{Name: "resources", Example: "{requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: \"2\", memory: 4Gi}}",
		Description: "Backstage's CPU and memory requests and limits; Node.js gets half the memory limit for its heap."},
	Default: shapeOf(backstage.DefaultResources),
	Into:    func(s *Stack) *Resources { return &s.AppResources },
	Check:   validResources,
}

var KeyPostgresResources = &Key[Resources]{
	Setting: Setting{Name: "postgresResources", Example: "{requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: \"2\", memory: 2Gi}}",
		Description: "PostgreSQL's CPU and memory requests and limits; /dev/shm is half the memory limit and postgresSharedBuffers must fit it."},
	Default: shapeOf(postgres.DefaultResources),
	Into:    func(s *Stack) *Resources { return &s.PostgresResources },
	Check:   validResources,
}

var KeyNodeSelector = &Key[map[string]string]{
	Setting: Setting{Name: "nodeSelector", Example: "{node-pool: apps}",
		Description: "Node labels the Backstage and PostgreSQL pods must run on (a YAML map)."},
	Into:  func(s *Stack) *map[string]string { return &s.Scheduling.NodeSelector },
	Check: labelMap,
}

var KeyTolerations = &Key[[]corev1.Toleration]{
	Setting: Setting{Name: "tolerations", InProduction: "tolerating every taint, or the control plane's", Example: "[{key: dedicated, operator: Equal, value: backstage, effect: NoSchedule}]",
		Description: "Taints the Backstage and PostgreSQL pods tolerate (a YAML list, as in a pod spec)."},
	Into:       func(s *Stack) *[]corev1.Toleration { return &s.Scheduling.Tolerations },
	Check:      validTolerations,
	Production: noToleranceOfEverything,
}

var KeyPriorityClassName = &Key[string]{
	Setting: Setting{Name: "priorityClassName", Example: "platform-critical",
		Description: "The PriorityClass of the Backstage and PostgreSQL pods."},
	Into:  func(s *Stack) *string { return &s.Scheduling.PriorityClassName },
	Check: func(v string) error { return errors.Join(dnsSubdomain("PriorityClass")(v), notSystemPriority(v)) },
}

var KeyPodLabels = &Key[map[string]string]{
	Setting: Setting{Name: "podLabels", Example: "{team: platform}",
		Description: "Labels of the Backstage pods besides the program's (cost allocation, a mesh's selection); the selector's keys app and component are the program's."},
	Into:  func(s *Stack) *map[string]string { return &s.App.PodLabels },
	Check: backstage.CheckPodLabels,
}

var KeyPodAnnotations = &Key[map[string]string]{
	Setting: Setting{Name: "podAnnotations", Example: "{sidecar.istio.io/inject: \"true\"}",
		Description: "Annotations of the Backstage pods besides the program's (checksum/* and prometheus.io/* are the program's)."},
	Into:  func(s *Stack) *map[string]string { return &s.App.PodAnnotations },
	Check: backstage.CheckPodAnnotations,
}

var KeyMetrics = &Key[*Metrics]{
	Setting: Setting{Name: "metrics", Example: "{port: 9464, scraperNamespace: monitoring, serviceMonitor: true}",
		Description: "Expose the OpenTelemetry Prometheus exporter's port (default 9464) to one scraper namespace, with a ServiceMonitor when asked."},
	Into:  func(s *Stack) **Metrics { return &s.Metrics },
	Check: validMetrics,
}

var KeyRolloutStrategy = &Key[string]{
	Setting: Setting{Name: "rolloutStrategy", InProduction: "Recreate", Example: "Recreate",
		Description: "RollingUpdate, or Recreate (stop every old pod before a new one runs migrations; outside production only)."},
	Default:    backstage.DefaultRolloutStrategy,
	Into:       func(s *Stack) *string { return &s.App.RolloutStrategy },
	Check:      oneOf("RollingUpdate", "Recreate"),
	Production: rollingUpdateOnly,
}

// The platform's additions to Backstage's pod (#24). Each key's check is the
// component's; the rules between them (a mount of a volume) are in rules.go.

var KeyEnvFromConfigMaps = &Key[[]string]{
	Setting: Setting{Name: "envFromConfigMaps", Example: "[platform-endpoints]",
		Description: "Existing ConfigMaps in the namespace whose keys become Backstage's environment (a YAML list); the program's own variables win, and a change to them rolls no pod (docs/extending.md)."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.App.EnvFromConfigMaps },
	Check:   backstage.CheckEnvFromObjects("ConfigMap"),
}

var KeyEnvFromSecrets = &Key[[]string]{
	Setting: Setting{Name: "envFromSecrets", Example: "[backstage-github]",
		Description: "Existing Secrets in the namespace (External Secrets, a Vault sync) whose keys become Backstage's environment (a YAML list); the program's own variables win, and a change to them rolls no pod (docs/extending.md)."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.App.EnvFromSecrets },
	Check:   backstage.CheckEnvFromObjects("Secret"),
}

var KeyExtraVolumes = &Key[[]corev1.Volume]{
	Setting: Setting{Name: "extraVolumes", Example: "[{name: techdocs, persistentVolumeClaim: {claimName: techdocs}}]",
		Description: "Volumes of Backstage's pod, as in a pod spec: configMap, secret, projected, emptyDir, persistentVolumeClaim, csi or ephemeral (never hostPath)."},
	Into:  func(s *Stack) *[]corev1.Volume { return &s.App.ExtraVolumes },
	Check: backstage.CheckExtraVolumes,
}

var KeyExtraVolumeMounts = &Key[[]corev1.VolumeMount]{
	Setting: Setting{Name: "extraVolumeMounts", Example: "[{name: techdocs, mountPath: /var/techdocs}]",
		Description: "Mounts of extraVolumes in the Backstage container, as in a pod spec; away from /app and the program's own mounts."},
	Into:  func(s *Stack) *[]corev1.VolumeMount { return &s.App.ExtraVolumeMounts },
	Check: backstage.CheckVolumeMounts,
}

var KeyInitContainers = &Key[[]corev1.Container]{
	Setting: Setting{Name: "initContainers", InProduction: "images whose tag can move", Example: "[{name: fetch-plugins, image: registry.example/fetch:1.0}]",
		Description: "Containers run to completion after the database answers and before Backstage starts, as in a pod spec; security settings left unset get Pod Security restricted's."},
	Into:       func(s *Stack) *[]corev1.Container { return &s.App.InitContainers },
	Check:      func(c []corev1.Container) error { return backstage.CheckContainers(c, false) },
	Production: pinnedContainerImages,
}

var KeySidecars = &Key[[]corev1.Container]{
	Setting: Setting{Name: "sidecars", InProduction: "images whose tag can move", Example: "[{name: vault-agent, image: hashicorp/vault:1.18.3, args: [agent, -config=/vault/config.hcl]}]",
		Description: "Containers that run beside Backstage (a Vault agent, cloud-sql-proxy), as native sidecars that start first; security settings left unset get Pod Security restricted's."},
	Into:       func(s *Stack) *[]corev1.Container { return &s.App.Sidecars },
	Check:      func(c []corev1.Container) error { return backstage.CheckContainers(c, true) },
	Production: pinnedContainerImages,
}

var KeyAffinity = &Key[*corev1.Affinity]{
	Setting: Setting{Name: "affinity", Example: "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [apps]}]}]}}}",
		Description: "Backstage's affinity, as in a pod spec: node and pod affinity as given, anti-affinity terms beside the program's spreading over nodes."},
	Into: func(s *Stack) **corev1.Affinity { return &s.App.Affinity },
}

var KeyTopologySpreadConstraints = &Key[[]corev1.TopologySpreadConstraint]{
	Setting: Setting{Name: "topologySpreadConstraints", Example: "[{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}]",
		Description: "Spreading of Backstage's pods, as in a pod spec; one on kubernetes.io/hostname replaces the program's, and one without labelSelector selects Backstage's pods."},
	Into:  func(s *Stack) *[]corev1.TopologySpreadConstraint { return &s.App.TopologySpreadConstraints },
	Check: backstage.CheckTopologySpread,
}

var KeyProbes = &Key[*backstage.Probes]{
	Setting: Setting{Name: "probes", Example: "{startup: {failureThreshold: 60}, readiness: {periodSeconds: 5}}",
		Description: "Timings of Backstage's startup, readiness and liveness probes (initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold); unset keeps the program's."},
	Into:  func(s *Stack) **backstage.Probes { return &s.App.Probes },
	Check: backstage.CheckProbes,
}
