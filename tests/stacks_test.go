package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

const (
	typeNamespace   = "kubernetes:core/v1:Namespace"
	typeSecret      = "kubernetes:core/v1:Secret"
	typeConfigMap   = "kubernetes:core/v1:ConfigMap"
	typeService     = "kubernetes:core/v1:Service"
	typeSA          = "kubernetes:core/v1:ServiceAccount"
	typeDeployment  = "kubernetes:apps/v1:Deployment"
	typeStatefulSet = "kubernetes:apps/v1:StatefulSet"
	typeIngress     = "kubernetes:networking.k8s.io/v1:Ingress"
	typeNetPol      = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	typePDB         = "kubernetes:policy/v1:PodDisruptionBudget"
	typeRole        = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
	typeBinding     = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
	typeChart       = "kubernetes:helm.sh/v4:Chart"
	typeJob         = "kubernetes:batch/v1:Job"
	typeCronJob     = "kubernetes:batch/v1:CronJob"
	typeCustom      = "kubernetes:cert-manager.io/v1:ClusterIssuer"
	typePassword    = "random:index/randomPassword:RandomPassword"
	typeProvider    = "pulumi:providers:kubernetes"
)

// stackExpectations is what each committed stack file must produce.
var stackExpectations = []struct {
	stack          string
	replicas       float64
	host           string
	scheme         string
	issuer         string // "" for no TLS
	storageClass   string
	securityLayer  bool
	kind           bool
	protect        bool
	generatedPass  bool
	maxUnavailable float64
}{
	{stack: "kind", replicas: 1, host: "backstage.localtest.me", scheme: "https", issuer: "self-signed-ca",
		storageClass: "standard", securityLayer: true, kind: true, generatedPass: true},
	{stack: "dev", replicas: 1, host: "backstage.dev.arhean.com", scheme: "https", issuer: "letsencrypt-prod",
		securityLayer: true, protect: true, generatedPass: true},
	{stack: "prod", replicas: 2, host: "backstage.arhean.com", scheme: "https", issuer: "letsencrypt-prod",
		securityLayer: true, protect: true, generatedPass: true},
	{stack: "local", replicas: 1, host: "backstage.local.test", scheme: "http",
		storageClass: "local-manual"},
}

func TestStacksComposeEveryComponentWithOneProvider(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))

			componentTypes := []string{"backstage:index:Backstage", "backstage:index:Postgres", "backstage:index:RBAC", "backstage:index:NetworkIsolation"}
			for _, c := range componentTypes {
				assert.Len(t, rec.ofType(c), 1, c)
			}
			assert.Len(t, rec.ofType("backstage:index:SecurityLayer"), boolToInt(want.securityLayer))
			require.Len(t, rec.ofType(typeProvider), 1, "one Kubernetes provider, built in main")

			components := map[string]bool{}
			for _, res := range rec.Registrations() {
				if strings.HasPrefix(res.Type, "backstage:index:") {
					components[res.Name] = true
				}
			}
			for _, res := range rec.Registrations() {
				if strings.HasPrefix(res.Type, "kubernetes:") {
					assert.Contains(t, res.Provider, "pulumi:providers:kubernetes::kubernetes", "%s uses the stack's provider", res.Name)
				}
				if !strings.Contains(res.Parent, "backstage:index:") {
					continue // a top-level resource, parented to the stack
				}
				parent := res.Parent[strings.LastIndex(res.Parent, "::")+2:]
				assert.True(t, components[parent], "%s's parent %s is a component", res.Name, parent)
				assert.True(t, strings.HasPrefix(res.Name, parent+"-"), "child %s is named after its parent %s", res.Name, parent)
			}
			for _, top := range []string{"namespace", "kubernetes", "backstage", "postgres", "rbac", "network"} {
				assert.NotContains(t, rec.byName(t, top).Parent, "backstage:index:", "%s is top level", top)
			}
		})
	}
}

func TestStacksNamespaceEnforcesRestrictedPodSecurity(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			ns := mustRun(t, loadStack(t, want.stack)).kube(t, typeNamespace, "backstage")
			assert.Equal(t, "restricted", str(ns.Inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
			assert.True(t, ns.RetainOnDelete, "the namespace holds the database claim")
			assert.Equal(t, want.protect, ns.Protect)
		})
	}
}

func TestStacksPostgres(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			sts := rec.kube(t, typeStatefulSet, "psql-postgresql")
			in := sts.Inputs
			assert.Equal(t, "1", str(in, "spec", "replicas"))
			assert.Equal(t, "OrderedReady", str(in, "spec", "podManagementPolicy"))
			assert.Equal(t, "psql-postgresql", str(in, "spec", "serviceName"))
			assert.Equal(t, "Retain", str(in, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"))
			assert.Equal(t, "Retain", str(in, "spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"))

			vct := get(in, "spec", "volumeClaimTemplates", "0")
			assert.Equal(t, "data", str(vct.ObjectValue(), "metadata", "name"), "claim data-psql-postgresql-0")
			assert.Equal(t, postgres.DefaultStorageSize, str(vct.ObjectValue(), "spec", "resources", "requests", "storage"))
			assert.Equal(t, want.storageClass, str(vct.ObjectValue(), "spec", "storageClassName"))

			pod := get(in, "spec", "template", "spec").ObjectValue()
			assert.Equal(t, "false", str(pod, "automountServiceAccountToken"))
			assert.Equal(t, "true", str(pod, "securityContext", "runAsNonRoot"))
			assert.Equal(t, "999", str(pod, "securityContext", "fsGroup"))
			c := get(pod, "containers", "0").ObjectValue()
			assert.Equal(t, postgresImageOf(t, want.stack), str(c, "image"))
			assert.Equal(t, "5432", str(c, "ports", "0", "containerPort"))
			assert.Equal(t, []any{"-c", "max_connections=100", "-c", "shared_buffers=256MB"}, plain(get(c, "args")))
			env := envByName(c)
			assert.Equal(t, "backstage_plugin_catalog", env["POSTGRES_DB"])
			assert.Equal(t, "postgres", env["POSTGRES_USER"], "the image's bootstrap superuser")
			assert.Equal(t, "secret:psql-postgresql-bootstrap/password", env["POSTGRES_PASSWORD"])
			assert.Equal(t, "backstage", env["APP_USER"], "the init script's app role")
			assert.Equal(t, "secret:psql-postgresql/password", env["APP_PASSWORD"])
			assert.Equal(t, "--auth-local=scram-sha-256 --auth-host=scram-sha-256", env["POSTGRES_INITDB_ARGS"], "no trust on the socket")
			assert.Contains(t, mountPaths(c), "/docker-entrypoint-initdb.d")
			assert.Equal(t, "/var/lib/postgresql/data/pgdata", env["PGDATA"])
			assert.Contains(t, mountPaths(c), "/var/lib/postgresql/data")
			for _, probe := range []string{"startupProbe", "readinessProbe"} {
				assert.Equal(t, "pg_isready", str(c, probe, "exec", "command", "0"), probe)
			}
			assert.Equal(t, "tcp-postgresql", str(c, "livenessProbe", "tcpSocket", "port"))
			assertRestrictedContainer(t, c)
			assertResources(t, c)

			// Data safety: nothing that a config change can do replaces or deletes it.
			assert.True(t, sts.RetainOnDelete)
			assert.Equal(t, want.protect, sts.Protect)
			assert.Equal(t, []string{"spec.volumeClaimTemplates"}, sts.IgnoreChanges)
			assert.Equal(t, "true", str(sts.Inputs, "metadata", "annotations", "pulumi.com/patchForce"),
				"a stack re-adopts the StatefulSet a destroy retained")

			svc := rec.kube(t, typeService, "psql-postgresql")
			assert.Equal(t, "None", str(svc.Inputs, "spec", "clusterIP"))
			assert.Equal(t, "5432", str(svc.Inputs, "spec", "ports", "0", "port"))

			secret := rec.kube(t, typeSecret, "psql-postgresql")
			assert.True(t, isSecretAt(secret.Inputs, "stringData", "password"), "the password is a secret")
			var passwords []registered
			for _, p := range rec.ofType(typePassword) {
				if p.Name == "postgres-password" {
					passwords = append(passwords, p)
				}
			}
			if want.generatedPass {
				require.Len(t, passwords, 1)
				assert.Equal(t, mockGeneratedPassword, str(secret.Inputs, "stringData", "password"))
				assert.Equal(t, want.protect, passwords[0].Protect)
				assert.Empty(t, get(passwords[0].Inputs, "keepers").V, "no keepers: generated once, never regenerated")
			} else {
				assert.Empty(t, passwords, "the password comes from stack config")
				assert.Equal(t, secretPlaceholder+"backstage:postgresPassword", str(secret.Inputs, "stringData", "password"))
			}
			rec.kube(t, typePDB, "psql-postgresql")
		})
	}
}

func TestStacksBackstageDeployment(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			in := rec.kube(t, typeDeployment, "backstage").Inputs
			assert.Equal(t, "backstage", str(in, "metadata", "labels", "app"))
			assert.Equal(t, "backend", str(in, "metadata", "labels", "component"))
			assert.Equal(t, want.replicas, get(in, "spec", "replicas").NumberValue())
			assert.Equal(t, "RollingUpdate", str(in, "spec", "strategy", "type"))
			assert.Equal(t, want.maxUnavailable, get(in, "spec", "strategy", "rollingUpdate", "maxUnavailable").NumberValue())
			assert.Equal(t, float64(1), get(in, "spec", "strategy", "rollingUpdate", "maxSurge").NumberValue())

			tmpl := get(in, "spec", "template").ObjectValue()
			assert.Empty(t, str(tmpl, "metadata", "annotations", "prometheus.io/port"),
				"no scrape annotation on 7007, the port the Ingress publishes; only with backstage:metrics")
			assert.Len(t, str(tmpl, "metadata", "annotations", "checksum/config"), 64)
			assert.Len(t, str(tmpl, "metadata", "annotations", "checksum/secrets"), 64)

			pod := get(tmpl, "spec").ObjectValue()
			assert.Equal(t, "backstage", str(pod, "serviceAccountName"))
			assert.Equal(t, "1000", str(pod, "securityContext", "runAsUser"))
			assert.Equal(t, "RuntimeDefault", str(pod, "securityContext", "seccompProfile", "type"))
			assert.Equal(t, "kubernetes.io/hostname", str(pod, "affinity", "podAntiAffinity",
				"preferredDuringSchedulingIgnoredDuringExecution", "0", "podAffinityTerm", "topologyKey"))

			initC := get(pod, "initContainers", "0").ObjectValue()
			assert.Equal(t, "wait-for-postgres", str(initC, "name"))
			assert.Equal(t, pinned(t, want.stack, "initImage", pins.InitImage), str(initC, "image"))
			assert.Contains(t, str(initC, "command", "2"), `nc -z "$POSTGRES_HOST" "$POSTGRES_PORT"`)
			assert.Equal(t, map[string]any{"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "16Mi"}, plain(get(initC, "resources", "requests")))
			assert.Equal(t, "100m", str(initC, "resources", "limits", "cpu"))
			assert.Equal(t, "128Mi", str(initC, "resources", "limits", "memory"))
			assertRestrictedContainer(t, initC)

			c := get(pod, "containers", "0").ObjectValue()
			assert.Equal(t, "ghcr.io/arhean/backstage:1.0.0", str(c, "image"))
			assert.Equal(t, "Always", str(c, "imagePullPolicy"))
			assert.Equal(t, "http", str(c, "ports", "0", "name"))
			assert.Equal(t, "7007", str(c, "ports", "0", "containerPort"))
			env := envByName(c)
			assert.Equal(t, "production", env["NODE_ENV"])
			assert.Equal(t, "--max-old-space-size=1024", env["NODE_OPTIONS"])
			assert.Equal(t, "backstage-env-config", str(c, "envFrom", "0", "configMapRef", "name"))
			assert.Equal(t, "backstage-secrets", str(c, "envFrom", "1", "secretRef", "name"))
			assert.Equal(t, "250m", str(c, "resources", "requests", "cpu"))
			assert.Equal(t, "512Mi", str(c, "resources", "requests", "memory"))
			assert.Equal(t, "1", str(c, "resources", "limits", "cpu"))
			assert.Equal(t, "2Gi", str(c, "resources", "limits", "memory"))
			// The app-config ConfigMap holds at least the database file: the pool that fits
			// the connection budget.
			assert.ElementsMatch(t, []string{"/tmp", "/app/tmp", "/app/config-extra"}, mountPaths(c))
			for _, v := range get(pod, "volumes").ArrayValue() {
				if str(v.ObjectValue(), "emptyDir", "medium") == "" && get(v.ObjectValue(), "emptyDir").V != nil {
					assert.Equal(t, "1Gi", str(v.ObjectValue(), "emptyDir", "sizeLimit"))
				}
			}
			for probe, period := range map[string]float64{"startupProbe": 5, "readinessProbe": 10} {
				assert.Equal(t, "/healthcheck", str(c, probe, "httpGet", "path"), probe)
				assert.Equal(t, period, get(c, probe, "periodSeconds").NumberValue(), probe)
			}
			assert.Equal(t, "http", str(c, "livenessProbe", "tcpSocket", "port"), "liveness does not depend on the database")
			assert.Equal(t, float64(30), get(c, "livenessProbe", "periodSeconds").NumberValue())
			startup := get(c, "startupProbe").ObjectValue()
			assert.LessOrEqual(t, get(startup, "periodSeconds").NumberValue()*get(startup, "failureThreshold").NumberValue(), float64(120),
				"the startup probe gives up within 2 minutes")
			assertRestrictedContainer(t, c)
			assertResources(t, c)
			rec.kube(t, typePDB, "backstage")
		})
	}
}

func TestStacksBackstageConfigAndSecrets(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			cm := rec.kube(t, typeConfigMap, "backstage-env-config").Inputs
			url := want.scheme + "://" + want.host
			assert.Equal(t, "production", str(cm, "data", "NODE_ENV"))
			assert.Equal(t, "psql-postgresql.backstage.svc.cluster.local", str(cm, "data", "POSTGRES_HOST"))
			assert.Equal(t, "5432", str(cm, "data", "POSTGRES_PORT"))
			assert.Equal(t, "backstage_plugin_catalog", str(cm, "data", "POSTGRES_DB"))
			assert.Equal(t, url, str(cm, "data", "BACKEND_URL"))
			assert.Equal(t, url, str(cm, "data", "APP_BASE_URL"))

			secret := rec.kube(t, typeSecret, "backstage-secrets").Inputs
			assert.Equal(t, "backstage", str(secret, "stringData", "POSTGRES_USER"))
			assert.True(t, isSecretAt(secret, "stringData", "POSTGRES_PASSWORD"))
			for _, absent := range []string{"GITHUB_TOKEN", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"} {
				assert.True(t, get(secret, "stringData", absent).IsNull(), "%s is omitted when not configured", absent)
			}
		})
	}
}

func TestGitHubCredentialsReachPodsOnlyThroughTheSecret(t *testing.T) {
	cfg := loadStack(t, "dev").
		withSecret("githubToken", "ghp_mocktoken").
		withSecret("githubClientId", "mock-client-id").
		withSecret("githubClientSecret", "mock-client-secret")
	rec := mustRun(t, cfg)

	secret := rec.kube(t, typeSecret, "backstage-secrets").Inputs
	for key, value := range map[string]string{"GITHUB_TOKEN": "ghp_mocktoken", "GITHUB_CLIENT_ID": "mock-client-id", "GITHUB_CLIENT_SECRET": "mock-client-secret"} {
		assert.Equal(t, value, str(secret, "stringData", key))
		assert.True(t, isSecretAt(secret, "stringData", key), "%s stays secret", key)
	}
	for _, res := range rec.Registrations() {
		if res.Type == typeSecret || res.Type == typePassword || strings.HasPrefix(res.Type, "tls:") {
			continue // where secrets are made and kept
		}
		for _, value := range []string{"ghp_mocktoken", "mock-client-secret", mockGeneratedPassword, mockCAKey} {
			assert.False(t, containsString(get(res.Inputs), value), "%s carries a secret value in plaintext", res.Name)
		}
	}
}

func TestPlaintextCredentialIsRefused(t *testing.T) {
	rec, err := run(t, loadStack(t, "dev").with("githubToken", "ghp_plaintext"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:githubToken: is stored in plaintext")
	assert.Contains(t, err.Error(), "pulumi config set --secret backstage:githubToken")
	assert.Empty(t, rec.Registrations())
}

func TestStacksServiceAndIngress(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			svc := rec.kube(t, typeService, "backstage").Inputs
			assert.Equal(t, "ClusterIP", str(svc, "spec", "type"))
			assert.Equal(t, "80", str(svc, "spec", "ports", "0", "port"))
			assert.Equal(t, "http", str(svc, "spec", "ports", "0", "targetPort"), "the container port named http is 7007")
			assert.Equal(t, "ClientIP", str(svc, "spec", "sessionAffinity"))
			assert.Equal(t, "10800", str(svc, "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"))

			ing := rec.kube(t, typeIngress, "backstage").Inputs
			assert.Equal(t, "nginx", str(ing, "spec", "ingressClassName"))
			assert.Equal(t, want.host, str(ing, "spec", "rules", "0", "host"))
			assert.Equal(t, "backstage", str(ing, "spec", "rules", "0", "http", "paths", "0", "backend", "service", "name"))
			assert.NotEmpty(t, str(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/limit-rps"))
			if want.issuer == "" {
				assert.True(t, get(ing, "spec", "tls").IsNull())
				return
			}
			assert.Equal(t, want.host, str(ing, "spec", "tls", "0", "hosts", "0"))
			assert.Equal(t, "backstage-tls", str(ing, "spec", "tls", "0", "secretName"))
			assert.Equal(t, want.issuer, str(ing, "metadata", "annotations", "cert-manager.io/cluster-issuer"))
			assert.Equal(t, "true", str(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/force-ssl-redirect"))
		})
	}
}

func TestStacksRBACIsReadOnlyAndNarrow(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			rec.kube(t, typeSA, "backstage")
			role := rec.kube(t, typeRole, "backstage-backend").Inputs
			granted := map[string]bool{}
			for _, rule := range get(role, "rules").ArrayValue() {
				r := rule.ObjectValue()
				for _, verb := range get(r, "verbs").ArrayValue() {
					assert.Contains(t, []string{"get", "list", "watch"}, verb.StringValue(), "read-only")
				}
				for _, res := range get(r, "resources").ArrayValue() {
					assert.NotEqual(t, "*", res.StringValue())
					assert.NotEqual(t, "secrets", res.StringValue())
					granted[res.StringValue()] = true
				}
				for _, g := range get(r, "apiGroups").ArrayValue() {
					assert.NotEqual(t, "*", g.StringValue())
				}
			}
			for _, res := range []string{"pods", "services", "configmaps", "deployments", "replicasets", "statefulsets", "daemonsets",
				"horizontalpodautoscalers", "ingresses", "limitranges", "resourcequotas", "jobs", "cronjobs"} {
				assert.True(t, granted[res], "the Kubernetes plugin reads %s", res)
			}
			binding := rec.kube(t, typeBinding, "backstage-backend").Inputs
			assert.Equal(t, "backstage-backend", str(binding, "roleRef", "name"))
			assert.Equal(t, "backstage", str(binding, "subjects", "0", "name"))
			assert.Equal(t, "backstage", str(binding, "subjects", "0", "namespace"))
		})
	}
}

func TestWideRBACOnlyByExplicitChoice(t *testing.T) {
	rec := mustRun(t, loadStack(t, "dev").with("rbacClusterWideRead", "true"))
	role := rec.kube(t, typeRole, "backstage-backend").Inputs
	assert.Equal(t, []any{"*"}, plain(get(role, "rules", "0", "resources")))
	assert.Equal(t, []any{"get", "list", "watch"}, plain(get(role, "rules", "0", "verbs")))
}

func TestStacksNetworkPolicies(t *testing.T) {
	for _, want := range stackExpectations {
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			deny := rec.kube(t, typeNetPol, "default-deny").Inputs
			assert.Equal(t, map[string]any{}, plain(get(deny, "spec", "podSelector")))
			assert.Equal(t, []any{"Ingress", "Egress"}, plain(get(deny, "spec", "policyTypes")))

			toApp := rec.kube(t, typeNetPol, "backstage-ingress").Inputs
			assert.Equal(t, "ingress-nginx", str(toApp, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
			assert.Equal(t, "7007", str(toApp, "spec", "ingress", "0", "ports", "0", "port"))

			toDB := rec.kube(t, typeNetPol, "postgres-ingress").Inputs
			assert.Equal(t, "postgres", str(toDB, "spec", "podSelector", "matchLabels", "app"))
			assert.Equal(t, "backstage", str(toDB, "spec", "ingress", "0", "from", "0", "podSelector", "matchLabels", "app"))
			assert.Equal(t, "5432", str(toDB, "spec", "ingress", "0", "ports", "0", "port"))

			egress := rec.kube(t, typeNetPol, "backstage-egress").Inputs
			internet := get(egress, "spec", "egress", "1").ObjectValue()
			assert.Equal(t, "0.0.0.0/0", str(internet, "to", "0", "ipBlock", "cidr"))
			assert.Contains(t, plain(get(internet, "to", "0", "ipBlock", "except")), "10.0.0.0/8")
			assert.Equal(t, "443", str(internet, "ports", "0", "port"))
			rec.kube(t, typeNetPol, "allow-dns")
		})
	}
}

func TestStacksSecurityLayer(t *testing.T) {
	for _, want := range stackExpectations {
		if !want.securityLayer {
			continue
		}
		t.Run(want.stack, func(t *testing.T) {
			rec := mustRun(t, loadStack(t, want.stack))
			charts := rec.ofType(typeChart)
			require.Len(t, charts, 2, "both charts are Pulumi Charts, whose objects a preview diffs one by one")
			nginxChart := rec.byName(t, "security-ingress-nginx")
			nginx := nginxChart.Inputs
			assert.Equal(t, typeChart, nginxChart.Type)
			assert.Equal(t, "ingress-nginx", str(nginx, "name"), "the release name the objects' names derive from stays")
			assert.Equal(t, pinned(t, want.stack, "ingressNginxChartVersion", pins.IngressNginxChartVersion), str(nginx, "version"))
			ctrl := get(nginx, "values", "controller").ObjectValue()
			assert.Equal(t, "TLSv1.2 TLSv1.3", str(ctrl, "config", "ssl-protocols"))
			assert.Equal(t, "true", str(ctrl, "config", "hsts"))
			assert.Equal(t, "true", str(ctrl, "config", "ssl-redirect"))
			assert.Equal(t, "false", str(ctrl, "allowSnippetAnnotations"))
			// The webhook runs only where the stack says where the API server calls it from
			// (kind); its certificate then comes from cert-manager, not from hook Jobs a
			// Chart never runs.
			assert.Equal(t, fmt.Sprint(want.kind), str(ctrl, "admissionWebhooks", "enabled"))
			assert.Equal(t, fmt.Sprint(want.kind), str(ctrl, "admissionWebhooks", "certManager", "enabled"))
			assert.Equal(t, want.kind, str(ctrl, "hostPort", "enabled") == "true", "Kind host ports")
			assert.Equal(t, want.kind, str(ctrl, "nodeSelector", "ingress-ready") == "true", "Kind ingress-ready node")

			certManager := rec.byName(t, "security-cert-manager")
			assert.Equal(t, typeChart, certManager.Type)
			assert.Equal(t, "cert-manager", str(certManager.Inputs, "name"))
			assert.Equal(t, pinned(t, want.stack, "certManagerChartVersion", pins.CertManagerChartVersion), str(certManager.Inputs, "version"))
			assert.Equal(t, "true", str(certManager.Inputs, "values", "crds", "enabled"))
			assert.True(t, dependsOn(nginxChart, certManager.Name), "ingress-nginx's webhook certificate needs cert-manager")

			issuers := rec.ofType(typeCustom)
			require.NotEmpty(t, issuers)
			names := map[string]registered{}
			for _, issuer := range issuers {
				names[str(issuer.Inputs, "metadata", "name")] = issuer
				assert.True(t, dependsOn(issuer, certManager.Name), "%s waits for cert-manager's webhook", issuer.Name)
			}
			require.Contains(t, names, want.issuer)
			if want.issuer == "self-signed-ca" {
				assert.Equal(t, "backstage-ca", str(names[want.issuer].Inputs, "spec", "ca", "secretName"))
				ca := rec.kube(t, typeSecret, "backstage-ca")
				assert.True(t, isSecretAt(ca.Inputs, "stringData", "tls.key"))
				assert.Len(t, rec.ofType("tls:index/privateKey:PrivateKey"), 1)
			} else {
				acme := get(names[want.issuer].Inputs, "spec", "acme").ObjectValue()
				assert.Equal(t, "platform@arhean.com", str(acme, "email"))
				assert.Equal(t, "https://acme-v02.api.letsencrypt.org/directory", str(acme, "server"))
				assert.Equal(t, "nginx", str(acme, "solvers", "0", "http01", "ingress", "ingressClassName"))
				assert.Contains(t, names, "letsencrypt-staging")
				assert.Empty(t, rec.ofType("tls:index/privateKey:PrivateKey"), "no self-signed CA in production")
			}

			// The Ingress waits for the controller's webhook and the issuer themselves,
			// not for whatever children of the layer had registered by then.
			ingress := rec.kube(t, typeIngress, "backstage")
			for _, dep := range []string{"security-ingress-nginx", "security-cert-manager", "security-" + want.issuer} {
				assert.True(t, dependsOn(ingress, dep), "the Ingress waits for %s", dep)
			}

			// Production runs two of each controller, each with a disruption budget.
			ha := want.stack == "prod"
			assert.Equal(t, map[bool]string{true: "2", false: ""}[ha], str(nginx, "values", "controller", "replicaCount"))
			assert.Equal(t, map[bool]string{true: "1", false: ""}[ha], str(nginx, "values", "controller", "minAvailable"))
			for _, part := range [][]string{{}, {"webhook"}, {"cainjector"}} {
				assert.Equal(t, map[bool]string{true: "2", false: ""}[ha], str(certManager.Inputs, append(append([]string{"values"}, part...), "replicaCount")...), "cert-manager %v", part)
				assert.Equal(t, map[bool]string{true: "true", false: ""}[ha], str(certManager.Inputs, append(append([]string{"values"}, part...), "podDisruptionBudget", "enabled")...), "cert-manager %v", part)
			}
		})
	}
}

func assertRestrictedContainer(t *testing.T, c resource.PropertyMap) {
	t.Helper()
	sc := get(c, "securityContext").ObjectValue()
	assert.Equal(t, "true", str(sc, "runAsNonRoot"), str(c, "name"))
	assert.Equal(t, "false", str(sc, "allowPrivilegeEscalation"), str(c, "name"))
	assert.Equal(t, []any{"ALL"}, plain(get(sc, "capabilities", "drop")), str(c, "name"))
	assert.Equal(t, "RuntimeDefault", str(sc, "seccompProfile", "type"), str(c, "name"))
	assert.Equal(t, "true", str(sc, "readOnlyRootFilesystem"), str(c, "name"))
}

func assertResources(t *testing.T, c resource.PropertyMap) {
	t.Helper()
	for _, kind := range []string{"requests", "limits"} {
		for _, res := range []string{"cpu", "memory", "ephemeral-storage"} {
			assert.NotEmpty(t, str(c, "resources", kind, res), "%s sets %s.%s", str(c, "name"), kind, res)
		}
	}
}

// envByName maps a container's env to values, "secret:<name>/<key>" for secretKeyRefs.
func envByName(c resource.PropertyMap) map[string]string {
	out := map[string]string{}
	for _, e := range get(c, "env").ArrayValue() {
		m := e.ObjectValue()
		if ref := str(m, "valueFrom", "secretKeyRef", "name"); ref != "" {
			out[str(m, "name")] = "secret:" + ref + "/" + str(m, "valueFrom", "secretKeyRef", "key")
			continue
		}
		out[str(m, "name")] = str(m, "value")
	}
	return out
}

func mountPaths(c resource.PropertyMap) []string {
	var out []string
	for _, m := range get(c, "volumeMounts").ArrayValue() {
		out = append(out, str(m.ObjectValue(), "mountPath"))
	}
	return out
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dependsOn(res registered, name string) bool {
	for _, dep := range res.Dependencies {
		if strings.HasSuffix(dep, "::"+name) {
			return true
		}
	}
	return false
}

// pinned is the version a stack runs: its stack file's pin, or the program's default.
// Tests compare with these rather than literals, so a Renovate bump edits one line.
func pinned(t testing.TB, stack, key, def string) string {
	if v, ok := loadStack(t, stack).values["backstage:"+key]; ok {
		return v
	}
	return def
}

// postgresImageOf is the image a stack runs: its own pin, or the pinned image of its
// major (the stack file's, or the program's default).
func postgresImageOf(t testing.TB, stack string) string {
	cfg := loadStack(t, stack)
	if image, ok := cfg.values["backstage:postgresImage"]; ok {
		return image
	}
	major := postgres.DefaultMajorVersion
	if v, ok := cfg.values["backstage:postgresMajorVersion"]; ok {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		major = n
	}
	return pins.PostgresImages[major]
}
