package backstage

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/internal/componenttest"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/namespace"
	"github.com/arhean/backstage-pulumi/components/pins"
)

func minimalBackstage() *BackstageArgs {
	return &BackstageArgs{
		Namespace:          pulumi.String("ns"),
		Image:              "ghcr.io/arhean/backstage:1.0.0",
		Host:               "backstage.example.com",
		ServiceAccountName: pulumi.String("backstage"),
		Database: DatabaseConnection{
			Host: pulumi.String("db"), Name: names.PostgresDatabase, User: pulumi.String("u"), Password: pulumi.String("p"),
		},
	}
}

func TestBackstageDefaultsAreTheExportedConstants(t *testing.T) {
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := NewBackstage(ctx, "app", minimalBackstage())
		return err
	})
	require.NoError(t, err)
	deploy := m.MustNamed(t, "app-deployment").Inputs
	assert.Equal(t, float64(DefaultReplicas), componenttest.Value(deploy, "spec", "replicas"))
	assert.Equal(t, pins.InitImage, componenttest.Value(deploy, "spec", "template", "spec", "initContainers", "0", "image"))
	assert.Equal(t, DefaultHealthCheckPath, componenttest.Value(deploy, "spec", "template", "spec", "containers", "0", "readinessProbe", "httpGet", "path"))
	ingress := m.MustNamed(t, "app-ingress").Inputs
	assert.Equal(t, names.DefaultIngressClassName, componenttest.Value(ingress, "spec", "ingressClassName"))
	assert.Equal(t, DefaultTLS, componenttest.Value(ingress, "spec", "tls", "0", "hosts", "0") == "backstage.example.com", "TLS unless turned off")
	assert.Nil(t, componenttest.Value(ingress, "metadata", "annotations", "cert-manager.io/cluster-issuer"), "no issuer unless named")
	assert.ElementsMatch(t, []string{"app-backend-secret", "app-env-config", "app-secrets", "app-deployment", "app-service", "app-ingress", "app-pdb"}, m.ChildrenOf("app"))
}

func TestBackstagePlainHTTPAndAnIssuer(t *testing.T) {
	args := minimalBackstage()
	args.TLS = pulumi.BoolRef(false)
	args.ClusterIssuer = edge.IssuerLetsEncryptProd
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := NewBackstage(ctx, "app", args)
		return err
	})
	require.NoError(t, err)
	ingress := m.MustNamed(t, "app-ingress").Inputs
	assert.Nil(t, componenttest.Value(ingress, "spec", "tls"))
	assert.Nil(t, componenttest.Value(ingress, "metadata", "annotations", "cert-manager.io/cluster-issuer"), "no certificate without TLS")
	assert.Equal(t, "http://backstage.example.com", componenttest.Value(m.MustNamed(t, "app-env-config").Inputs, "data", "APP_BASE_URL"))
}

func TestBackstageRefusesWhatAGoCallerCanGetWrong(t *testing.T) {
	cases := map[string]func(*BackstageArgs){
		"missing required field Image":                   func(a *BackstageArgs) { a.Image = "" },
		"missing required field Host":                    func(a *BackstageArgs) { a.Host = "" },
		"missing required field ServiceAccountName":      func(a *BackstageArgs) { a.ServiceAccountName = nil },
		"missing required field Database":                func(a *BackstageArgs) { a.Database.Password = nil },
		"field Replicas is -1; use a value from 1 to 20": func(a *BackstageArgs) { a.Replicas = -1 },
		"field Replicas is 50; use a value from 1 to 20": func(a *BackstageArgs) { a.Replicas = 50 },
	}
	for want, mutate := range cases {
		args := minimalBackstage()
		mutate(args)
		m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
			_, err := NewBackstage(ctx, "app", args)
			return err
		})
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
		assert.Empty(t, m.Registrations())
	}
}

func TestRestrictedNamespaceIsRetainedAndLabelled(t *testing.T) {
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := namespace.NewRestrictedNamespace(ctx, "namespace", "backstage", true)
		return err
	})
	require.NoError(t, err)
	ns := m.MustNamed(t, "namespace")
	assert.True(t, ns.RetainOnDelete)
	assert.True(t, ns.Protect)
	for _, mode := range []string{"enforce", "warn", "audit"} {
		assert.Equal(t, "restricted", componenttest.Value(ns.Inputs, "metadata", "labels", "pod-security.kubernetes.io/"+mode))
	}
}
