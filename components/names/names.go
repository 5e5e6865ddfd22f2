// Package names holds what the platform's objects are called and how they select each
// other: the fixed object names, the pod labels Services, budgets and NetworkPolicies
// select on, and the ports. Every component package reads them from here, so a name a
// user relies on has one home.
package names

// App names the app in every place where the default is simply "backstage".
const App = "backstage"

// Kubernetes object names that users, runbooks and other objects refer to. They are
// fixed on purpose: Pulumi's auto-naming would change them on every replacement.
const (
	BackstageName       = App
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
	// CABundleKey is the key of a CA bundle in the ConfigMaps and Secrets that carry one.
	CABundleKey = "ca.crt"
	// DefaultIngressClassName is the IngressClass the edge's controller serves and
	// Backstage's Ingress names unless told otherwise.
	DefaultIngressClassName = "nginx"
)

// Pod labels that Services, PodDisruptionBudgets and NetworkPolicies select on.
var (
	// DatabaseClientSelector marks the program's own database Jobs (role changes,
	// backups): the only pods besides Backstage that may reach PostgreSQL.
	DatabaseClientSelector = map[string]string{"app": "postgres-client", "component": "database-client"}
	BackstageSelector      = map[string]string{"app": "backstage", "component": "backend"}
	PostgresSelector       = map[string]string{"app": "postgres", "component": "database"}
)
