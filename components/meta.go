// Package components holds the ComponentResources the Backstage platform is made of.
// Each takes a Kubernetes provider through its resource options (a component never
// builds one) and parents every child to itself.
package components

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/arhean/backstage-pulumi/internal/kube"
)

// Kubernetes object names that users, runbooks and other objects refer to. They are
// fixed on purpose: Pulumi's auto-naming would change them on every replacement.
const (
	BackstageName       = appName
	BackstageConfigName = "backstage-env-config"
	BackstageSecretName = "backstage-secrets"
	// BackstageAppConfigName holds the stack's app-config, BackstageCABundleName the
	// certificates Backstage trusts, BackstageRegistryName the registry login.
	BackstageAppConfigName = "backstage-app-config"
	BackstageCABundleName  = "backstage-ca-bundle"
	BackstageRegistryName  = "backstage-registry"
	BackstageRBACName      = "backstage-backend"
	PostgresName           = "psql-postgresql"
	// PostgresBootstrapSecretName holds the superuser's password, and nothing else does.
	PostgresBootstrapSecretName = "psql-postgresql-bootstrap"
	// PostgresSuperuser is the bootstrap superuser the official image creates.
	PostgresSuperuser = "postgres"
	PostgresDatabase  = "backstage_plugin_catalog"
	PostgresPort      = 5432
	BackstagePort     = 7007
)

// Pod labels that Services, PodDisruptionBudgets and NetworkPolicies select on.
var (
	// DatabaseClientSelector marks the program's own database Jobs (role changes,
	// backups): the only pods besides Backstage that may reach PostgreSQL.
	DatabaseClientSelector = map[string]string{"app": "postgres-client", "component": "database-client"}
	BackstageSelector      = map[string]string{"app": "backstage", "component": "backend"}
	PostgresSelector       = map[string]string{"app": "postgres", "component": "database"}
)

// skipAwaitAnnotation stops the provider from waiting on an object whose readiness
// another controller owns: a Service's endpoints follow its pods (which the workload's
// own await already covers) and an Ingress's address needs a running ingress
// controller. Waiting on them costs a fixed 10 s settle per Service and, with no
// controller, a 10-minute timeout per Ingress.
const skipAwaitAnnotation = "pulumi.com/skipAwait"

// kubeScoreIgnoreUID skips kube-score's "UID and GID above 10000" rule on workloads
// whose images are built to run as a fixed low user (node 1000 in the Backstage image,
// postgres 999 in the official PostgreSQL image): runAsNonRoot still holds. The reason
// travels with the object so that whoever reads the manifest sees why.
func kubeScoreIgnoreUID(reason string) map[string]string {
	return map[string]string{
		"kube-score/ignore":        "container-security-context-user-group-id",
		"kube-score/ignore-reason": reason,
	}
}

// objectMeta builds metadata with the fixed name, namespace and labels every object gets.
// A nil namespace is for cluster-wide objects.
func objectMeta(refs *kube.Refs, name string, namespace pulumi.StringInput, labels, annotations map[string]string) metav1.ObjectMeta {
	all := map[string]string{"app.kubernetes.io/part-of": appName, "app.kubernetes.io/managed-by": "pulumi"}
	maps.Copy(all, labels)
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   refs.String(namespace),
		Labels:      all,
		Annotations: annotations,
	}
}
