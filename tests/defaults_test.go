package tests

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/components/rbac"
)

// The two layers agree on every default: a component given the args that config makes
// from a stack that sets only its required keys registers exactly what it registers
// from args that leave every optional field to the component.
func TestComponentDefaultsEqualTheKeyTablesDefaults(t *testing.T) {
	required := stackConfig{name: "defaults", secrets: map[string]bool{}, values: map[string]string{
		"backstage:environment": "production",
		"backstage:image":       "ghcr.io/arhean/backstage:1.0.0",
		"backstage:host":        "backstage.example.com",
		"backstage:acmeEmail":   "ops@example.com",
		// Required with the security layer: its edge, and (ingress-nginx's) where the
		// API server calls its webhook from.
		"backstage:edge":                      "ingress-nginx",
		"backstage:ingressWebhookSourceCidrs": `["10.0.0.0/28"]`,
	}}
	cfg := loadConfig(t, required)
	ns := pulumi.String(cfg.Namespace)
	db := backstage.DatabaseConnection{Host: pulumi.String("db"), Name: names.PostgresDatabase, User: pulumi.String("u"), Password: pulumi.String("p")}

	fromConfig := registerComponents(t, cfg.PostgresArgs(ns), cfg.BackstageArgs(ns, pulumi.String("backstage"), db),
		cfg.NetworkIsolationArgs(ns), cfg.RBACArgs(ns))
	// The issuer is the stack's choice of ClusterIssuer and the pool is sized from the
	// connection budget: neither is a component default.
	pooled := db
	pooled.PoolMax = cfg.DatabasePoolMax()
	fromComponents := registerComponents(t,
		&postgres.PostgresArgs{Namespace: ns},
		&backstage.BackstageArgs{Namespace: ns, Image: cfg.App.Image, Host: cfg.App.Host, ServiceAccountName: pulumi.String("backstage"),
			Database: pooled, ClusterIssuer: cfg.TLS},
		&network.NetworkIsolationArgs{Namespace: ns},
		&rbac.RBACArgs{Namespace: ns})

	require.Len(t, fromComponents.Registrations(), len(fromConfig.Registrations()))
	for _, want := range fromConfig.Registrations() {
		got := fromComponents.byName(t, want.Name)
		assert.Equal(t, plain(get(want.Inputs)), plain(get(got.Inputs)), want.Name)
		assert.Equal(t, want.Protect, got.Protect, "%s: protect", want.Name)
	}
}

func registerComponents(t *testing.T, db *postgres.PostgresArgs, app *backstage.BackstageArgs,
	isolation *network.NetworkIsolationArgs, access *rbac.RBACArgs) *recorder {
	t.Helper()
	rec := newRecorder()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		if _, err := postgres.NewPostgres(ctx, "postgres", db); err != nil {
			return err
		}
		if _, err := backstage.NewBackstage(ctx, "backstage", app); err != nil {
			return err
		}
		if _, err := network.NewNetworkIsolation(ctx, "network", isolation); err != nil {
			return err
		}
		_, err := rbac.NewRBAC(ctx, "rbac", access)
		return err
	}, pulumi.WithMocks("backstage", "defaults", rec))
	require.NoError(t, err)
	return rec
}
