// Package program is the body of the Backstage stack: `main.go` runs it under the
// Pulumi CLI and the Automation API driver (cmd/stack) runs the very same function.
package program

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/namespace"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/components/rbac"
	"github.com/arhean/backstage-pulumi/config"
)

// Run loads and validates the stack configuration, then composes the components. It
// registers nothing when the configuration is invalid.
func Run(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	for _, warning := range cfg.Warnings {
		_ = ctx.Log.Warn(warning, nil)
	}

	provider, err := kubernetes.NewProvider(ctx, "kubernetes", providerArgs(cfg))
	if err != nil {
		return err
	}
	k8s := pulumi.Provider(provider)

	var security *edge.SecurityLayer
	if cfg.InstallSecurityLayer {
		if security, err = edge.NewSecurityLayer(ctx, "security", cfg.SecurityLayerArgs(), k8s); err != nil {
			return err
		}
	}

	appNamespace, err := namespace.NewRestrictedNamespace(ctx, "namespace", cfg.Namespace, cfg.ProtectDatabase, k8s)
	if err != nil {
		return err
	}
	ns := appNamespace.Name()

	if cfg.NetworkPolicies {
		if _, err := network.NewNetworkIsolation(ctx, "network", cfg.NetworkIsolationArgs(ns), k8s); err != nil {
			return err
		}
	}
	access, err := rbac.NewRBAC(ctx, "rbac", cfg.RBACArgs(ns), k8s)
	if err != nil {
		return err
	}
	var database backstage.DatabaseConnection
	var db *postgres.Postgres
	if cfg.Database == config.DatabaseExternal {
		// No StatefulSet, claim or generated password. An in-cluster database this stack
		// ran before is retained (StatefulSet, claim, Secrets), not deleted.
		_ = ctx.Log.Warn("backstage:database is external: if this stack ran the in-cluster PostgreSQL, its StatefulSet psql-postgresql, "+
			"its claim and its Secrets are kept in the namespace; delete them once the data is moved (docs/operations.md: Choosing in-cluster or managed)", nil)
		database = cfg.ExternalDatabaseConnection()
	} else {
		if db, err = postgres.NewPostgres(ctx, "postgres", cfg.PostgresArgs(ns), k8s); err != nil {
			return err
		}
		database = backstage.DatabaseConnection{
			Host:     db.Host,
			Port:     names.PostgresPort,
			Name:     names.PostgresDatabase,
			User:     db.User,
			Password: db.Password,
		}
	}

	if cfg.Dumps() {
		if _, err := postgres.NewBackups(ctx, "backups", cfg.BackupArgs(ns, database), k8s); err != nil {
			return err
		}
	}

	appArgs := cfg.BackstageArgs(ns, access.ServiceAccountName, database)
	if security != nil {
		// The Ingress needs the controller's admission webhook and the issuer in place.
		appArgs.IngressAfter = security.Ready
	}
	app, err := backstage.NewBackstage(ctx, "backstage", appArgs, k8s)
	if err != nil {
		return err
	}

	if upgrade := cfg.Upgrade; db != nil && upgrade != nil && !upgrade.Done {
		// After Backstage is stopped, and both servers are ready.
		after := append([]pulumi.Resource{app.Deployment}, db.StatefulSets...)
		if _, err := postgres.NewMajorUpgrade(ctx, "postgres-upgrade", cfg.MajorUpgradeArgs(ns, db.Host, after...), k8s); err != nil {
			return err
		}
	}

	ctx.Export("url", app.URL)
	ctx.Export("namespace", ns)
	ctx.Export("databaseHost", database.Host)
	ctx.Export("image", app.Image)
	if security != nil {
		ctx.Export("caCertificate", security.CACertificate)
	}
	return nil
}

func providerArgs(cfg *config.Stack) *kubernetes.ProviderArgs {
	args := &kubernetes.ProviderArgs{
		EnableServerSideApply: pulumi.Bool(true),
		// The ConfigMaps and Secrets have fixed names that pods and users refer to, and a
		// checksum annotation rolls the pods when their data changes. Left immutable, the
		// provider would replace them (delete, then create) on every edit, and with them
		// the Deployment: an outage for a changed environment variable.
		EnableConfigMapMutable: pulumi.Bool(true),
		EnableSecretMutable:    pulumi.Bool(true),
	}
	if cfg.KubeContext != "" {
		args.Context = pulumi.String(cfg.KubeContext)
	}
	if cfg.RenderYAMLToDirectory != "" {
		args.RenderYamlToDirectory = pulumi.String(cfg.RenderYAMLToDirectory)
		// The SDK would otherwise fill in $KUBECONFIG, which the provider refuses here.
		args.Kubeconfig = pulumi.String("")
	}
	return args
}
