package config

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/namespace"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// The key table: every key of a stack's `backstage:` configuration, in the order the
// generated Pulumi.yaml and docs/configuration.md show them. Each key is declared once,
// as a Key beside the keys of its concern (keys*.go), with its type (from its Go type),
// default, description, the Stack field it fills and its checks; this list orders them.
// `make generate` writes Pulumi.yaml's config block and docs/configuration.md's settings
// table from it. Rules that involve several keys are in rules.go.
var table = []entry{
	KeyEnvironment,
	KeyImage,
	KeyHost,
	KeyNamespace,
	KeyKubeContext,
	KeyRenderYAMLToDirectory,
	KeyInstallSecurityLayer,
	KeyIngressNginxChartVersion,
	KeyCertManagerChartVersion,
	KeyChartRepository,
	KeyCertManagerChartPath,
	KeyIngressNginxChartPath,
	KeyEnvoyGatewayChartVersion,
	KeyEnvoyGatewayChartPath,
	KeyKindCluster,
	KeyTLS,
	KeyACMEEmail,
	KeyIngressClassName,
	KeyIngressControllerNamespace,
	KeyInitImage,
	KeyReplicas,
	KeyAutoscaling,
	KeyMaxUnavailable,
	KeyMaxSurge,
	KeyHealthCheckPath,
	KeyGitHubToken,
	KeyGitHubClientID,
	KeyGitHubClientSecret,
	KeyPostgresMajorVersion,
	KeyPostgresImage,
	KeyPostgresStorageClass,
	KeyPostgresStorageSize,
	KeyPostgresMaxConnections,
	KeyPostgresSharedBuffers,
	KeyPostgresUser,
	KeyPostgresPassword,
	KeyPostgresBootstrapPassword,
	KeyProtectDatabase,
	KeyRBACClusterWideRead,
	KeyRBACClusterWideReadAcknowledged,
	KeyServiceAccountAnnotations,
	KeyAutomountServiceAccountToken,
	KeyNetworkPolicies,
	KeyEgressRules,
	KeyMetadataEgress,
	KeyKubeAPIServerCIDRs,
	KeyIngressWebhookSourceCIDRs,
	KeyIngressAdmissionWebhook,
	KeyAppConfig,
	KeyAppConfigBaseFiles,
	KeyEnv,
	KeySecretEnv,
	KeyBackendSecret,
	KeyImagePullSecrets,
	KeyRegistryAuth,
	KeyImagePullPolicy,
	KeyCABundle,
	KeyResources,
	KeyPostgresResources,
	KeyNodeSelector,
	KeyTolerations,
	KeyPriorityClassName,
	KeyPodLabels,
	KeyPodAnnotations,
	KeyEnvFromConfigMaps,
	KeyEnvFromSecrets,
	KeyExtraVolumes,
	KeyExtraVolumeMounts,
	KeyInitContainers,
	KeySidecars,
	KeyAffinity,
	KeyTopologySpreadConstraints,
	KeyProbes,
	KeyMetrics,
	KeyRolloutStrategy,
	KeyDatabase,
	KeyDatabaseHost,
	KeyDatabasePort,
	KeyDatabaseUser,
	KeyDatabasePassword,
	KeyDatabaseSSLMode,
	KeyDatabaseSSLModeAcknowledged,
	KeyDatabaseCABundle,
	KeyDatabaseCIDRs,
	KeyDatabasePlugins,
	KeyBackup,
	KeyPostgresUpgrade,
	KeyMaintenance,
	KeyEdge,
	KeyKeepIngressNginx,
	KeyGatewayRef,
}

func init() {
	for _, e := range table {
		e.declare()
	}
}

// Settings lists every key's declaration, in table order.
func Settings() []*Setting {
	out := make([]*Setting, len(table))
	for i, e := range table {
		out[i] = e.setting()
	}
	return out
}

var KeyEnvironment = &Key[Environment]{
	Setting: Setting{Name: "environment", Required: true, Example: "development|production",
		Description: "development or production. Production refuses unpinned images, TLS other than letsencrypt-prod, fewer than 2 replicas and the wide RBAC rule without acknowledgement."},
	Into:  func(s *Stack) *Environment { return &s.Environment },
	Check: environmentName,
}

var KeyImage = &Key[string]{
	Setting: Setting{Name: "image", InProduction: "a tag that can move (latest, a branch, a major alone); a release tag or a digest", Required: true, Example: "<registry>/<repository>:<tag>",
		Description: "The Backstage image, <registry>/<repository>:<tag>. An image bump is one edit of this key."},
	Into:       func(s *Stack) *string { return &s.App.Image },
	Check:      validImage,
	Production: pinnedImage,
	Warn:       unpinnedImageWarning,
}

var KeyHost = &Key[string]{
	Setting: Setting{Name: "host", InProduction: "special-use names (.local, .test, .localhost, .invalid, .example)", Required: true, Example: "backstage.example.com",
		Description: "The DNS name Backstage is served on, e.g. backstage.example.com."},
	Into:       func(s *Stack) *string { return &s.App.Host },
	Check:      publicHost,
	Production: productionHost,
}

var KeyNamespace = &Key[string]{
	Setting: Setting{Name: "namespace", Example: "backstage-staging",
		Description: "The namespace of Backstage and PostgreSQL; the ClusterRole is <namespace>-backend."},
	Default: namespace.DefaultNamespace,
	Into:    func(s *Stack) *string { return &s.Namespace },
	Check:   appNamespace,
}

var KeyKubeContext = &Key[string]{
	Setting: Setting{Name: "kubeContext", Example: "kind-backstage",
		Description: "The kubeconfig context to deploy to; empty for the current context."},
	Into: func(s *Stack) *string { return &s.KubeContext },
}

var KeyRenderYAMLToDirectory = &Key[string]{
	Setting: Setting{Name: "renderYamlToDirectory", Example: "out/manifests",
		Description: "When set, write manifests to this folder instead of deploying (they contain secrets - never commit them)."},
	Into: func(s *Stack) *string { return &s.RenderYAMLToDirectory },
}

var KeyInstallSecurityLayer = &Key[bool]{
	Setting: Setting{Name: "installSecurityLayer", Example: "false",
		Description: "Install the edge named by edge (Envoy Gateway or ingress-nginx), cert-manager and the ClusterIssuers; false where the platform already runs them."},
	Default: true,
	Into:    func(s *Stack) *bool { return &s.InstallSecurityLayer },
}

var KeyIngressNginxChartVersion = &Key[string]{
	Setting: Setting{Name: "ingressNginxChartVersion", Pinned: true, Example: pins.IngressNginxChartVersion,
		Description: "The ingress-nginx chart version (the project is retired upstream; its final release is the default)."},
	Default: pins.IngressNginxChartVersion,
	Into:    func(s *Stack) *string { return &s.Security.IngressNginxChartVersion },
	Check:   exactChartVersion,
}

var KeyCertManagerChartVersion = &Key[string]{
	Setting: Setting{Name: "certManagerChartVersion", Pinned: true, Example: pins.CertManagerChartVersion,
		Description: "The cert-manager chart version, " + edge.MinCertManagerChartVersion + " or later."},
	Default: pins.CertManagerChartVersion,
	Into:    func(s *Stack) *string { return &s.Security.CertManagerChartVersion },
	Check:   chartVersionAtLeast(edge.MinCertManagerChartVersion),
}

var KeyChartRepository = &Key[string]{
	Setting: Setting{Name: "chartRepository", Example: "oci://registry.example.com/charts",
		Description: "One mirror for every chart of the security layer, for clusters that cannot reach the public repositories: an OCI registry (each chart is <address>/<chart>) or a Helm repository (https://); empty for each chart's own."},
	Into:  func(s *Stack) *string { return &s.Security.ChartRepository },
	Check: edge.CheckChartRepository,
}

var KeyCertManagerChartPath = &Key[string]{
	Setting: Setting{Name: "certManagerChartPath", Example: "vendor/charts/cert-manager",
		Description: "A local cert-manager chart (a directory or .tgz, relative to Pulumi.yaml) instead of a repository; its own version is installed."},
	Into: func(s *Stack) *string { return &s.Security.CertManagerChartPath },
}

var KeyIngressNginxChartPath = &Key[string]{
	Setting: Setting{Name: "ingressNginxChartPath", Example: "vendor/charts/ingress-nginx",
		Description: "A local ingress-nginx chart (a directory or .tgz, relative to Pulumi.yaml) instead of a repository; its own version is installed."},
	Into: func(s *Stack) *string { return &s.Security.IngressNginxChartPath },
}

var KeyKindCluster = &Key[bool]{
	Setting: Setting{Name: "kindCluster", Example: "true",
		Description: "Run the ingress controller on the Kind node's host ports 80 and 443."},
	Into: func(s *Stack) *bool { return &s.Security.KindCluster },
}

var KeyTLS = &Key[edge.Issuer]{
	Setting: Setting{Name: "tls", InProduction: "anything but letsencrypt-prod", Example: string(edge.IssuerLetsEncryptProd),
		Description: "Where the Ingress certificate comes from: letsencrypt-prod, letsencrypt-staging, self-signed-ca or none."},
	Default:    edge.IssuerLetsEncryptProd,
	Into:       func(s *Stack) *edge.Issuer { return &s.TLS },
	Check:      knownIssuer,
	Production: productionIssuer,
}

var KeyACMEEmail = &Key[string]{
	Setting: Setting{Name: "acmeEmail", Example: "ops@example.com",
		Description: "The e-mail address Let's Encrypt sends expiry notices to; required with the letsencrypt issuers."},
	Into:  func(s *Stack) *string { return &s.ACMEEmail },
	Check: email,
}

var KeyIngressClassName = &Key[string]{
	Setting: Setting{Name: "ingressClassName", Example: "nginx-internal",
		Description: "The IngressClass of the Backstage Ingress."},
	Default: names.DefaultIngressClassName,
	Into:    func(s *Stack) *string { return &s.Security.IngressClassName },
	Check:   dnsSubdomain("IngressClass"),
}

var KeyIngressControllerNamespace = &Key[string]{
	Setting: Setting{Name: "ingressControllerNamespace", Example: "ingress-system",
		Description: "The ingress-nginx controller's namespace, allowed to reach Backstage (with edge: gateway, the Gateway's data plane's, by default the Gateway's; with envoy-gateway, only while keepIngressNginx)."},
	Default: edge.DefaultIngressControllerNamespace,
	Into:    func(s *Stack) *string { return &s.Security.IngressControllerNamespace },
	Check:   dnsLabel("namespace"),
}

var KeyInitImage = &Key[string]{
	Setting: Setting{Name: "initImage", InProduction: "a tag that can move", Pinned: true, Example: pins.InitImage,
		Description: "The image of the wait-for-postgres init container."},
	Default:    pins.InitImage,
	Into:       func(s *Stack) *string { return &s.App.InitImage },
	Check:      validImage,
	Production: pinnedImage,
	Warn:       unpinnedImageWarning,
}

var KeyReplicas = &Key[int]{
	Setting: Setting{Name: "replicas", InProduction: "fewer than 2", Example: "2",
		Description: "Backstage replicas; production needs at least 2."},
	Default:    backstage.DefaultReplicas,
	Into:       func(s *Stack) *int { return &s.App.Replicas },
	Check:      backstage.CheckReplicas,
	Production: atLeast(productionMinReplicas, "; production runs at least 2 replicas so that a node loss or a rollout keeps Backstage up"),
}

var KeyAutoscaling = &Key[*backstage.Autoscaling]{
	Setting: Setting{Name: "autoscaling", InProduction: "minReplicas below 2", Example: "{minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70}",
		Description: "A HorizontalPodAutoscaler (autoscaling/v2) that owns Backstage's replica count instead of replicas; the connection budget is sized for maxReplicas plus the surge, and production needs minReplicas of 2 or more. Needs the metrics API (metrics-server)."},
	Into:       func(s *Stack) **backstage.Autoscaling { return &s.App.Autoscaling },
	Check:      backstage.CheckAutoscaling,
	Production: autoscalingKeepsTwo,
}

var KeyMaxUnavailable = &Key[string]{
	Setting: Setting{Name: "maxUnavailable", InProduction: "anything but 0", Example: "0",
		Description: "The rollout's maxUnavailable (number or percentage); production needs 0."},
	Default:    backstage.DefaultMaxUnavailable,
	Into:       func(s *Stack) *string { return &s.App.MaxUnavailable },
	Check:      validMaxUnavailable,
	Production: zeroRolloutBudget("production rolls out with maxUnavailable 0 so capacity never drops"),
}

var KeyMaxSurge = &Key[string]{
	Setting: Setting{Name: "maxSurge", Example: "1",
		Description: "The rollout's maxSurge (number or percentage)."},
	Default: backstage.DefaultMaxSurge,
	Into:    func(s *Stack) *string { return &s.App.MaxSurge },
	Check:   validRolloutBudget,
}

var KeyHealthCheckPath = &Key[string]{
	Setting: Setting{Name: "healthCheckPath", Example: "/.backstage/health/v1/readiness",
		Description: "The path of the startup and readiness probes; /.backstage/health/v1/readiness on Backstage 1.29 and later."},
	Default: backstage.DefaultHealthCheckPath,
	Into:    func(s *Stack) *string { return &s.App.HealthCheckPath },
	Check:   httpPath,
}

var KeyGitHubToken = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "githubToken", Secret: true, Example: "ghp_...",
		Description: "A GitHub token for the catalog's GitHub integration, as GITHUB_TOKEN in the Secret backstage-secrets."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.App.GitHubToken },
}

var KeyGitHubClientID = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "githubClientId", Secret: true, Example: "Iv1....",
		Description: "The GitHub OAuth app's client ID for sign-in, as GITHUB_CLIENT_ID."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.App.GitHubClientID },
}

var KeyGitHubClientSecret = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "githubClientSecret", Secret: true, Example: "<client secret>",
		Description: "The GitHub OAuth app's client secret, as GITHUB_CLIENT_SECRET."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.App.GitHubClientSecret },
}

var KeyPostgresMajorVersion = &Key[int]{
	Setting: Setting{Name: "postgresMajorVersion", Example: "14",
		Description: "The PostgreSQL major, 14 to 18; new stacks get 18, existing ones pin what their data directory is (the committed stacks pin 14)."},
	Default: postgres.DefaultMajorVersion,
	Into:    func(s *Stack) *int { return &s.Postgres.MajorVersion },
	Check:   postgres.CheckMajorVersion,
}

var KeyPostgresImage = &Key[string]{
	Setting: Setting{Name: "postgresImage", InProduction: "a tag that can move", Pinned: true, Example: pins.Postgres18Image,
		Description: "The PostgreSQL image; its tag's major must be postgresMajorVersion. Defaults to that major's pinned image."},
	Into:       func(s *Stack) *string { return &s.Postgres.Image },
	Check:      optionalImage,
	Production: optionalPinnedImage,
	Warn:       optionalUnpinnedImageWarning,
}

var KeyPostgresStorageClass = &Key[string]{
	Setting: Setting{Name: "postgresStorageClass", Example: "standard",
		Description: "The StorageClass of the database volume; empty for the cluster's default. Fixed once the claim exists: another class is refused."},
	Into:  func(s *Stack) *string { return &s.Postgres.StorageClass },
	Check: dnsSubdomain("StorageClass"),
}

var KeyPostgresStorageSize = &Key[string]{
	Setting: Setting{Name: "postgresStorageSize", Example: "16Gi",
		Description: "The size of the database volume (a Kubernetes quantity such as 8Gi). A larger size grows the claim where its class allows expansion; a smaller one is refused."},
	Default: postgres.DefaultStorageSize,
	Into:    func(s *Stack) *string { return &s.Postgres.StorageSize },
	Check:   postgres.CheckStorageSize,
}

var KeyPostgresMaxConnections = &Key[int]{
	Setting: Setting{Name: "postgresMaxConnections", Example: "200",
		Description: "PostgreSQL max_connections."},
	Default: postgres.DefaultMaxConnections,
	Into:    func(s *Stack) *int { return &s.Postgres.MaxConnections },
	Check:   postgres.CheckMaxConnections,
}

var KeyPostgresSharedBuffers = &Key[string]{
	Setting: Setting{Name: "postgresSharedBuffers", Example: "512MB",
		Description: "PostgreSQL shared_buffers."},
	Default: postgres.DefaultSharedBuffers,
	Into:    func(s *Stack) *string { return &s.Postgres.SharedBuffers },
	Check:   postgres.CheckSharedBuffers,
}

var KeyPostgresUser = &Key[string]{
	Setting: Setting{Name: "postgresUser", Example: "portal",
		Description: "The role Backstage logs in as: it owns the catalog database and may create one per plugin, and is no superuser."},
	Default: postgres.DefaultUser,
	Into:    func(s *Stack) *string { return &s.Postgres.User },
	Check:   postgresRole,
}

var KeyPostgresPassword = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "postgresPassword", Secret: true, Example: "<password>",
		Description: "The password of postgresUser; when unset, one is generated once with pulumi-random and kept in state."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.Postgres.Password },
}

var KeyPostgresBootstrapPassword = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "postgresBootstrapPassword", Secret: true, Example: "<password>",
		Description: "The bootstrap superuser's (postgres) password, kept only in the Secret psql-postgresql-bootstrap; when unset, generated once with pulumi-random."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.Postgres.BootstrapPassword },
}

var KeyProtectDatabase = &Key[bool]{
	Setting: Setting{Name: "protectDatabase", Example: "false",
		Description: "Refuse to delete the database StatefulSet, its namespace and its generated password."},
	Default: postgres.DefaultProtectDatabase,
	Into:    func(s *Stack) *bool { return &s.ProtectDatabase },
}

var KeyRBACClusterWideRead = &Key[bool]{
	Setting: Setting{Name: "rbacClusterWideRead", InProduction: "true, unless rbacClusterWideReadAcknowledged", Example: "true",
		Description: "Let Backstage read every resource, Secrets included, instead of the Kubernetes plugin's list."},
	Into: func(s *Stack) *bool { return &s.RBAC.ClusterWideRead },
	Warn: warnWhen(true, "the Backstage ServiceAccount can read every resource in the cluster, Secrets included"),
}

var KeyRBACClusterWideReadAcknowledged = &Key[bool]{
	Setting: Setting{Name: "rbacClusterWideReadAcknowledged", Example: "true",
		Description: "Production's explicit acceptance of rbacClusterWideRead."},
	Into: func(s *Stack) *bool { return &s.RBACClusterWideReadAcknowledged },
}

var KeyServiceAccountAnnotations = &Key[map[string]string]{
	Setting: Setting{Name: "serviceAccountAnnotations", Example: "{eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/backstage}",
		Description: "Annotations of the ServiceAccount backstage, for workload identity (IRSA, GKE Workload Identity, Azure Workload Identity), so that plugins reach cloud storage without static keys."},
	Into:  func(s *Stack) *map[string]string { return &s.RBAC.ServiceAccountAnnotations },
	Check: workload.CheckAnnotations,
}

var KeyAutomountServiceAccountToken = &Key[bool]{
	Setting: Setting{Name: "automountServiceAccountToken", Example: "false",
		Description: "Mount the ServiceAccount's token in the Backstage pods; the Kubernetes plugin needs it when it reads the cluster as that account. Workload identity mounts its own projected token either way."},
	Default: true,
	Into:    func(s *Stack) *bool { return &s.AutomountServiceAccountToken },
}

var KeyNetworkPolicies = &Key[bool]{
	Setting: Setting{Name: "networkPolicies", InProduction: "false", Example: "false",
		Description: "Default-deny NetworkPolicies with the allows Backstage needs."},
	Default: true,
	Into:    func(s *Stack) *bool { return &s.NetworkPolicies },
	Warn:    warnWhen(false, "off; every pod in the cluster can reach Backstage and PostgreSQL"),
	Production: func(on bool) error {
		if !on {
			return errors.New("is false, so every pod in the cluster can reach Backstage and PostgreSQL; production keeps them on (on a network plugin that does not enforce them they do nothing, and do no harm)")
		}
		return nil
	},
}

var KeyEgressRules = &Key[[]network.EgressRule]{
	Setting: Setting{Name: "egressRules", InProduction: "a wide rule (wider than /16, a whole namespace, over 100 ports) without a reason", Example: "[{cidrs: [10.20.0.0/24], ports: [{port: 443}]}]",
		Description: "Egress Backstage gets besides the program's (a private GitHub Enterprise, Vault, a cache in another namespace): each {cidrs, ports} or {namespace, podSelector, ports}, ports as in a NetworkPolicy; a wide rule needs a reason in production (docs/extending.md)."},
	Into:       func(s *Stack) *[]network.EgressRule { return &s.EgressRules },
	Check:      network.CheckEgressRules,
	Production: egressRulesExplained,
	Warn:       warnWideEgress,
}

var KeyMetadataEgress = &Key[bool]{
	Setting: Setting{Name: "metadataEgress", Example: "true",
		Description: "Let Backstage reach the cloud metadata service (169.254.169.254) and EKS Pod Identity's agent on port 80, which GKE Workload Identity and EKS Pod Identity need; IRSA and Azure Workload Identity do not."},
	Into: func(s *Stack) *bool { return &s.MetadataEgress },
}

var KeyKubeAPIServerCIDRs = &Key[[]string]{
	Setting: Setting{Name: "kubeApiServerCidrs", CommaSeparated: true, Example: "172.18.0.0/16",
		Description: "CIDRs of the Kubernetes API server (a YAML list; a comma-separated string is accepted too), for the Kubernetes plugin's egress."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.APIServerCIDRs },
	Check:   cidrList("172.18.0.0/16"),
}

var KeyIngressWebhookSourceCIDRs = &Key[[]string]{
	Setting: Setting{Name: "ingressWebhookSourceCidrs", CommaSeparated: true, Example: "172.18.0.0/16",
		Description: "Where the API server calls the ingress-nginx admission webhook from (a YAML list of CIDRs: the control plane's addresses, Kind's node network); the only sources its port admits, required while the webhook runs behind NetworkPolicies."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.WebhookSourceCIDRs },
	Check:   cidrList("172.18.0.0/16"),
}

var KeyIngressAdmissionWebhook = &Key[bool]{
	Setting: Setting{Name: "ingressAdmissionWebhook", Example: "false",
		Description: "Run ingress-nginx's admission webhook, which checks every Ingress before nginx loads it; false where the API server's source addresses are not known yet."},
	Default: true,
	Into:    func(s *Stack) *bool { return &s.AdmissionWebhook },
}

// productionMinReplicas keeps Backstage up through a node loss or a rollout.
const productionMinReplicas = 2

func environmentName(v Environment) error {
	if v != Development && v != Production {
		return fmt.Errorf("%q is not an environment; use development or production", v)
	}
	return nil
}

func knownIssuer(v edge.Issuer) error {
	if !slices.Contains(edge.Issuers, v) {
		return fmt.Errorf("%q is not a known issuer; use letsencrypt-prod, letsencrypt-staging, self-signed-ca or none", v)
	}
	return nil
}

func productionIssuer(v edge.Issuer) error {
	switch v {
	case edge.IssuerNone:
		return fmt.Errorf("is none; production serves HTTPS only: use %s", edge.IssuerLetsEncryptProd)
	case edge.IssuerLetsEncryptStaging, edge.IssuerSelfSignedCA:
		return fmt.Errorf("is %s, whose certificates browsers do not trust; production uses %s", v, edge.IssuerLetsEncryptProd)
	}
	return nil
}
