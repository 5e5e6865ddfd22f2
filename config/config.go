// Package config reads a stack's `backstage:` configuration through the key table
// (keys.go), validates all of it before the program registers a single resource, and
// hands each component the args it takes.
package config

import (
	"cmp"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumiconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/components/rbac"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// Namespace is the configuration namespace of every key: `backstage:<key>`.
const Namespace = "backstage"

// Environment decides how strict validation is.
type Environment string

const (
	Development Environment = "development"
	Production  Environment = "production"
)

// Stack is the whole validated configuration of one stack. Its fields are the
// components' own args where a key shapes one component; the key table says which key
// fills which field.
type Stack struct {
	// rootDir is the project's directory (Pulumi.yaml's), against which the stack's
	// relative paths are read.
	rootDir string

	Environment           Environment
	Namespace             string
	KubeContext           string
	RenderYAMLToDirectory string

	InstallSecurityLayer bool
	Edge                 string
	GatewayRef           string
	TLS                  edge.Issuer
	ACMEEmail            string
	Security             edge.SecurityLayerArgs

	App             backstage.BackstageArgs
	RegistryAuth    *RegistryLogin
	Metrics         *Metrics
	Database        string
	External        ExternalDatabase
	Backup          *Backup
	Postgres        postgres.PostgresArgs
	Upgrade         *PostgresUpgrade
	ProtectDatabase bool
	// DatabasePlugins and the rollout size the pool each plugin keeps (DatabasePoolMax).
	DatabasePlugins int

	AppResources, PostgresResources Resources
	// Scheduling applies to the Backstage and the PostgreSQL pods alike.
	Scheduling workload.Scheduling

	RBAC                            rbac.RBACArgs
	RBACClusterWideReadAcknowledged bool
	// AutomountServiceAccountToken applies to the ServiceAccount and the Backstage pods.
	AutomountServiceAccountToken bool

	NetworkPolicies    bool
	EgressRules        []network.EgressRule
	MetadataEgress     bool
	APIServerCIDRs     []string
	WebhookSourceCIDRs []string
	AdmissionWebhook   bool

	// Warnings are accepted but risky choices, for the program to log.
	Warnings []string
}

// Load reads the stack's configuration. It returns every problem at once, each naming
// its key and the fix, so that one `pulumi up` shows all that needs mending.
func Load(ctx *pulumi.Context) (*Stack, error) {
	r := &reader{cfg: pulumiconfig.New(ctx, Namespace), ctx: ctx}
	s := &Stack{rootDir: ctx.RootDirectory()}
	for _, e := range table {
		e.load(r, s)
	}
	if len(r.problems) == 0 {
		for _, e := range table {
			e.validate(r, s)
		}
		refused := maps.Clone(r.refusedKeys)
		for _, f := range checkRules(s, refused) {
			if !f.warning && refused[f.key] {
				// The key's own check said what is wrong with it; a rule over its
				// value would only repeat that in other words.
				continue
			}
			if f.warning {
				s.Warnings = append(s.Warnings, f.message)
			} else {
				r.problem(f.key, "%s", f.message)
			}
		}
	}
	// After the checks, so that one run reports a misspelt key beside the others.
	checkUnknownKeys(r)
	if len(r.problems) > 0 {
		sort.Strings(r.problems)
		return nil, &RefusedError{Problems: r.problems}
	}
	return s, nil
}

// RefusedError is a stack configuration refused before anything was registered.
type RefusedError struct {
	// Problems name a key each, sorted.
	Problems []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("invalid stack configuration (%d problems); nothing was deployed:\n  - %s",
		len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// NothingRegistered says that the program stopped before it registered any of its
// resources (only the engine's root Stack exists by then), so
// that the driver knows the up that ran it changed nothing (internal/stackrun).
func (e *RefusedError) NothingRegistered() bool { return true }

// SecurityLayerArgs are the args of the ingress controller, cert-manager and issuers.
func (s *Stack) SecurityLayerArgs() *edge.SecurityLayerArgs {
	args := s.Security
	if s.Edge != EdgeEnvoyGateway {
		// Envoy Gateway's namespace is its own; the key names ingress-nginx's, kept
		// during a move.
		args.IngressControllerNamespace = s.ingressControllerNamespace()
	}
	if s.Edge == EdgeEnvoyGateway {
		args.Controller = edge.ControllerEnvoyGateway
		args.Host, args.RouteNamespace = s.App.Host, s.Namespace
		if s.TLS != edge.IssuerNone {
			args.GatewayIssuer = s.TLS
		}
	}
	if s.TLS.ACME() {
		args.ACMEEmail = s.ACMEEmail
	}
	args.SelfSignedCA = s.TLS == edge.IssuerSelfSignedCA
	args.WebhookSourceCIDRs = s.WebhookSourceCIDRs
	args.AdmissionWebhook = pulumi.BoolRef(s.AdmissionWebhook)
	args.HighAvailability = s.Environment == Production
	if s.Metrics != nil {
		args.MetricsScraperNamespace = s.Metrics.ScraperNamespace
	}
	return &args
}

// NetworkIsolationArgs are the args of the app namespace's NetworkPolicies.
func (s *Stack) NetworkIsolationArgs(namespace pulumi.StringInput) *network.NetworkIsolationArgs {
	return &network.NetworkIsolationArgs{
		Namespace:                      namespace,
		IngressControllerNamespace:     s.ingressControllerNamespace(),
		KeptIngressControllerNamespace: s.keptIngressNginx(),
		APIServerCIDRs:                 s.APIServerCIDRs,
		EgressRules:                    s.EgressRules,
		MetadataEgress:                 s.MetadataEgress,
		Metrics:                        s.Metrics.args(),
		DatabaseCIDRs:                  s.DatabaseCIDRs(),
		DatabasePort:                   s.External.Port,
		ObjectStore:                    s.objectStoreEgress(),
	}
}

func (s *Stack) objectStoreEgress() *network.ObjectStoreEgress {
	store := s.bucket()
	if store == nil {
		return nil
	}
	return &network.ObjectStoreEgress{CIDRs: store.CIDRs, Port: store.Port()}
}

// RBACArgs are the args of the Backstage identity. The cluster-scoped names follow the
// namespace (backstage-backend by default), so that a second instance in the same
// cluster gets names of its own instead of fighting over these.
func (s *Stack) RBACArgs(namespace pulumi.StringInput) *rbac.RBACArgs {
	args := s.RBAC
	args.Namespace = namespace
	args.ClusterRoleName = s.Namespace + "-backend"
	args.AutomountServiceAccountToken = pulumi.BoolRef(s.AutomountServiceAccountToken)
	return &args
}

// PostgresArgs are the args of the database.
func (s *Stack) PostgresArgs(namespace pulumi.StringInput) *postgres.PostgresArgs {
	args := s.Postgres
	args.Namespace = namespace
	args.Protect = pulumi.BoolRef(s.ProtectDatabase)
	resources := s.PostgresResources.args()
	args.Resources = &resources
	args.Upgrade = s.Upgrade.args()
	args.Scheduling = s.Scheduling
	if store := s.objectStore(); store != nil {
		args.ObjectStore = store
		args.BackupSchedule = s.Backup.Schedule
	}
	return &args
}

// objectStore is the in-cluster database's bucket (pgBackRest's): nil without one, or
// for an external database.
func (s *Stack) objectStore() *postgres.ObjectStore {
	if s.Database == DatabaseExternal {
		return nil
	}
	return s.bucket()
}

// bucket is the backups' bucket, the in-cluster server's or the external database's
// dumps', its prefix defaulting to the namespace's: nil without one.
func (s *Stack) bucket() *postgres.ObjectStore {
	if s.Backup == nil || s.Backup.ObjectStore == nil {
		return nil
	}
	store := *s.Backup.ObjectStore.args()
	store.Prefix = cmp.Or(store.Prefix, "/"+s.Namespace)
	return &store
}

// Dumps says whether the backups are pg_dumps (NewBackups), to a claim or, for an
// external database, to the bucket: the in-cluster server's bucket holds pgBackRest's
// base backups and WAL instead.
func (s *Stack) Dumps() bool { return s.Backup != nil && s.objectStore() == nil }

// MajorUpgradeArgs are the args of the copy to the new major's server at target.
func (s *Stack) MajorUpgradeArgs(namespace, target pulumi.StringInput, after ...pulumi.Resource) *postgres.MajorUpgradeArgs {
	return &postgres.MajorUpgradeArgs{
		Namespace:  namespace,
		Upgrade:    *s.Upgrade.args(),
		To:         s.Postgres.MajorVersion,
		Image:      postgres.Image(s.Postgres.Image, s.Postgres.MajorVersion),
		Target:     target,
		AppUser:    s.Postgres.User,
		Scheduling: s.Scheduling,
		After:      after,
	}
}

// DatabaseCIDRs are the external database's addresses, none for the in-cluster one.
func (s *Stack) DatabaseCIDRs() []string {
	if s.Database != DatabaseExternal {
		return nil
	}
	return s.External.CIDRs
}

// ExternalDatabaseConnection is how Backstage reaches the external database.
func (s *Stack) ExternalDatabaseConnection() backstage.DatabaseConnection {
	return backstage.DatabaseConnection{
		Host:     pulumi.String(s.External.Host),
		Port:     s.External.Port,
		Name:     names.PostgresDatabase,
		User:     pulumi.String(s.External.User),
		Password: s.External.Password,
		SSLMode:  s.External.SSLMode,
		CABundle: s.External.CABundle,
	}
}

// BackupArgs are the args of the backups of the database Backstage uses, with the
// tools of the server's major (the newest major's for an external database, whose
// pg_dump reads every older server).
func (s *Stack) BackupArgs(namespace pulumi.StringInput, database backstage.DatabaseConnection) *postgres.BackupArgs {
	b := s.Backup
	args := postgres.BackupArgs{
		Namespace: namespace, Schedule: b.Schedule, Retention: b.Retention, Size: b.Size,
		StorageClass: b.StorageClass, ExistingClaim: b.ExistingClaim,
	}
	args.Database = database
	args.Scheduling = s.Scheduling
	args.Image = pins.PostgresImages[postgres.MaxMajorVersion]
	if s.Database != DatabaseExternal {
		args.Image = postgres.Image(s.Postgres.Image, s.Postgres.MajorVersion)
	} else {
		args.ObjectStore = s.bucket()
	}
	return &args
}

// BackstageArgs are the args of the app tier, given what the other components made.
func (s *Stack) BackstageArgs(namespace, serviceAccountName pulumi.StringInput, database backstage.DatabaseConnection) *backstage.BackstageArgs {
	args := s.App
	args.Namespace = namespace
	args.ServiceAccountName = serviceAccountName
	args.Database = database
	args.Database.PoolMax = s.DatabasePoolMax()
	args.Stopped = s.App.Stopped || s.upgradeCopying()
	args.Gateway = s.gateway()
	args.IngressClassName = s.Security.IngressClassName
	resources := s.AppResources.args()
	args.Resources = &resources
	args.Metrics = s.Metrics.args()
	if s.RegistryAuth != nil {
		args.RegistryAuth = s.RegistryAuth.args()
	}
	args.Scheduling = s.Scheduling
	args.AutomountServiceAccountToken = pulumi.BoolRef(s.AutomountServiceAccountToken)
	args.TLS = pulumi.BoolRef(s.TLS != edge.IssuerNone)
	if s.TLS != edge.IssuerNone {
		args.ClusterIssuer = s.TLS
	}
	if args.Gateway != nil {
		// The Gateway's owner terminates TLS on its listeners; an Ingress kept during a
		// move keeps its certificate.
		args.KeepIngress = s.keptIngressNginx() != ""
		if !args.KeepIngress {
			args.TLS, args.ClusterIssuer = pulumi.BoolRef(true), ""
		}
	}
	return &args
}
