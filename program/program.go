// Package program is the body of the Backstage stack: `main.go` runs it under the
// Pulumi CLI and the Automation API driver (cmd/stack) runs the very same function.
package program

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components"
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

	var security *components.SecurityLayer
	if cfg.Security.Install {
		security, err = components.NewSecurityLayer(ctx, "security", &components.SecurityLayerArgs{
			IngressNginxChartVersion:   cfg.Security.IngressNginxChartVersion,
			CertManagerChartVersion:    cfg.Security.CertManagerChartVersion,
			IngressControllerNamespace: cfg.Security.IngressControllerNamespace,
			IngressClassName:           cfg.Security.IngressClassName,
			KindCluster:                cfg.Security.KindCluster,
			ACMEEmail:                  acmeEmail(cfg),
			SelfSignedCA:               cfg.Security.TLS == config.TLSSelfSignedCA,
			WebhookSourceCIDRs:         cfg.NetworkPolicies.APIServerCIDRs,
		}, k8s)
		if err != nil {
			return err
		}
	}

	namespace, err := corev1.NewNamespace(ctx, "namespace", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(cfg.Namespace),
			Labels: pulumi.StringMap{
				"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
				"pod-security.kubernetes.io/warn":    pulumi.String("restricted"),
				"pod-security.kubernetes.io/audit":   pulumi.String("restricted"),
			},
		},
		// Deleting the namespace would delete the database's claim with it.
	}, k8s, pulumi.RetainOnDelete(true), pulumi.Protect(cfg.Postgres.Protect))
	if err != nil {
		return err
	}
	ns := namespace.Metadata.Name().Elem()

	if cfg.NetworkPolicies.Enabled {
		if _, err := components.NewNetworkIsolation(ctx, "network", &components.NetworkIsolationArgs{
			Namespace:                  ns,
			IngressControllerNamespace: cfg.Security.IngressControllerNamespace,
			APIServerCIDRs:             cfg.NetworkPolicies.APIServerCIDRs,
		}, k8s); err != nil {
			return err
		}
	}

	rbac, err := components.NewRBAC(ctx, "rbac", &components.RBACArgs{
		Namespace:       ns,
		ClusterWideRead: cfg.RBAC.ClusterWideRead,
		// backstage-backend for the default namespace; a second instance in the same
		// cluster gets its own cluster-scoped names instead of fighting over these.
		ClusterRoleName: cfg.Namespace + "-backend",
	}, k8s)
	if err != nil {
		return err
	}

	postgresArgs := &components.PostgresArgs{
		Namespace:      ns,
		Image:          cfg.Postgres.Image,
		StorageSize:    cfg.Postgres.StorageSize,
		StorageClass:   cfg.Postgres.StorageClass,
		MaxConnections: cfg.Postgres.MaxConnections,
		SharedBuffers:  cfg.Postgres.SharedBuffers,
		User:           cfg.Postgres.User,
		Protect:        cfg.Postgres.Protect,
	}
	if cfg.Postgres.Password != nil {
		postgresArgs.Password = *cfg.Postgres.Password
	}
	postgres, err := components.NewPostgres(ctx, "postgres", postgresArgs, k8s)
	if err != nil {
		return err
	}

	appOpts := []pulumi.ResourceOption{k8s}
	if security != nil {
		// The Ingress needs the controller's admission webhook and the issuer in place.
		appOpts = append(appOpts, pulumi.DependsOn([]pulumi.Resource{security}))
	}
	app, err := components.NewBackstage(ctx, "backstage", &components.BackstageArgs{
		Namespace:          ns,
		Image:              cfg.App.Image,
		InitImage:          cfg.App.InitImage,
		Replicas:           cfg.App.Replicas,
		MaxUnavailable:     cfg.App.MaxUnavailable,
		MaxSurge:           cfg.App.MaxSurge,
		Host:               cfg.App.Host,
		HealthCheckPath:    cfg.App.HealthCheckPath,
		ServiceAccountName: rbac.ServiceAccountName,
		Database: components.DatabaseConnection{
			Host:     postgres.Host,
			Port:     components.PostgresPort,
			Name:     components.PostgresDatabase,
			User:     postgres.User,
			Password: postgres.Password,
		},
		GitHubToken:        optional(cfg.App.GitHubToken),
		GitHubClientID:     optional(cfg.App.GitHubClientID),
		GitHubClientSecret: optional(cfg.App.GitHubClientSecret),
		IngressClassName:   cfg.Security.IngressClassName,
		TLS:                cfg.Security.TLS != config.TLSNone,
		ClusterIssuer:      clusterIssuer(cfg.Security.TLS),
	}, appOpts...)
	if err != nil {
		return err
	}

	ctx.Export("url", app.URL)
	ctx.Export("namespace", ns)
	ctx.Export("databaseHost", postgres.Host)
	ctx.Export("image", app.Image)
	if security != nil {
		ctx.Export("caCertificate", security.CACertificate)
	}
	return nil
}

func providerArgs(cfg *config.Stack) *kubernetes.ProviderArgs {
	args := &kubernetes.ProviderArgs{EnableServerSideApply: pulumi.Bool(true)}
	if cfg.Kubernetes.Context != "" {
		args.Context = pulumi.String(cfg.Kubernetes.Context)
	}
	if cfg.Kubernetes.RenderYAMLToDirectory != "" {
		args.RenderYamlToDirectory = pulumi.String(cfg.Kubernetes.RenderYAMLToDirectory)
		// The SDK would otherwise fill in $KUBECONFIG, which the provider refuses here.
		args.Kubeconfig = pulumi.String("")
	}
	return args
}

func acmeEmail(cfg *config.Stack) string {
	switch cfg.Security.TLS {
	case config.TLSLetsEncryptProd, config.TLSLetsEncryptStaging:
		return cfg.Security.ACMEEmail
	}
	return ""
}

func clusterIssuer(mode config.TLSMode) string {
	switch mode {
	case config.TLSLetsEncryptProd:
		return components.IssuerLetsEncryptProd
	case config.TLSLetsEncryptStaging:
		return components.IssuerLetsEncryptStaging
	case config.TLSSelfSignedCA:
		return components.IssuerSelfSignedCA
	}
	return ""
}

func optional(v *pulumi.StringOutput) pulumi.StringInput {
	if v == nil {
		return nil
	}
	return *v
}
