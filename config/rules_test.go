package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// The end-of-life warning starts the day after the major's last day of support, and
// only production gets it.
func TestEndOfLifeWarningFollowsTheCalendar(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	warnings := func(env Environment, now time.Time) []finding {
		s := &Stack{Environment: env, Database: DatabaseInCluster, Postgres: postgres.PostgresArgs{MajorVersion: 14}}
		return checkPostgresMajor(s, nil, now)
	}
	assert.Empty(t, warnings(Production, day("2026-11-01")), "still supported")
	assert.Len(t, warnings(Production, day("2026-11-13")), 1, "past 2026-11-12")
	assert.Empty(t, warnings(Development, day("2026-11-13")), "development does not warn")
}

// Rules read the Stack and return findings; what a component receives is derived where
// its args are made. A rule that wrote a derived value back (a stopped app, a pool
// size, a Gateway) would change the Stack here.
func TestRulesOnlyReadTheStack(t *testing.T) {
	for name, s := range map[string]*Stack{
		"a Gateway edge": {Environment: Production, Edge: EdgeGateway, GatewayRef: "gateway-system/shared", Database: DatabaseInCluster,
			Security: edge.SecurityLayerArgs{IngressControllerNamespace: edge.DefaultIngressControllerNamespace},
			App:      backstage.BackstageArgs{Replicas: 2, MaxSurge: "1", MaxUnavailable: "0"}, DatabasePlugins: 8,
			Postgres: postgres.PostgresArgs{MajorVersion: 18, MaxConnections: 100, SharedBuffers: "128MB"}},
		"an upgrade's copy": {Environment: Development, Edge: EdgeIngressNginx, Database: DatabaseInCluster,
			App: backstage.BackstageArgs{Replicas: 1, MaxSurge: "1", MaxUnavailable: "0"}, DatabasePlugins: 8,
			Postgres: postgres.PostgresArgs{MajorVersion: 18, MaxConnections: 100, SharedBuffers: "128MB", Upgrade: &postgres.PostgresUpgrade{From: 14}}},
	} {
		before := fmt.Sprintf("%+v", *s)
		checkRules(s, nil)
		assert.Equal(t, before, fmt.Sprintf("%+v", *s), "%s: a rule wrote to the Stack", name)
	}
}
