package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EMoveToAnExternalDatabaseKeepsTheInClusterOne: a stack that ran the in-cluster
// PostgreSQL moves to a managed one (a host name; nothing needs to answer, as kwok runs
// no containers). The move registers no database of its own and deletes nothing of the
// old one's data: the StatefulSet, its claim and its Secrets keep their uids.
func TestE2EMoveToAnExternalDatabaseKeepsTheInClusterOne(t *testing.T) {
	s, ctx := freshE2EStack(t, "external", 5*time.Minute)

	_, err := s.Up(ctx)
	require.NoError(t, err)
	kept := map[string]string{}
	for _, ref := range [][2]string{{"statefulset", "psql-postgresql"}, {"pvc", "data-psql-postgresql-0"},
		{"secret", "psql-postgresql"}, {"secret", "psql-postgresql-bootstrap"}, {"configmap", "psql-postgresql-init"}} {
		kept[ref[0]+"/"+ref[1]] = fieldString(object(t, ref[0], ref[1]), "metadata", "uid")
	}

	for key, value := range map[string]string{
		"database": "external", "databaseHost": externalHost, "databaseUser": "backstage", "databaseSslMode": "verify-full",
		"databaseCaBundle": testCertificatePEM(t),
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}))
	}
	require.NoError(t, s.SetConfig(ctx, "backstage:databasePassword", auto.ConfigValue{Value: "mock-rds-password", Secret: true}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:databaseCidrs[0]", auto.ConfigValue{Value: "10.20.0.0/24"}, &auto.ConfigOptions{Path: true}))

	preview, err := s.Preview(ctx, optpreview.Diff())
	require.NoError(t, err)
	assert.Contains(t, preview.StdOut+preview.StdErr, "backstage:database is external", "the preview says the old database is kept")

	_, err = s.Up(ctx)
	require.NoError(t, err, "external mode converges")
	for ref, uid := range kept {
		kind, name, _ := strings.Cut(ref, "/")
		assert.Equal(t, uid, fieldString(object(t, kind, name), "metadata", "uid"), "%s is kept", ref)
	}
	env := object(t, "configmap", "backstage-env-config")
	assert.Equal(t, externalHost, fieldString(env, "data", "POSTGRES_HOST"))
	assert.Contains(t, fieldString(object(t, "configmap", "backstage-app-config"), "data", "app-config.database.yaml"), "rejectUnauthorized: true")

	exported, err := s.Export(ctx)
	require.NoError(t, err)
	var state struct {
		Resources []struct{ Type, URN string } `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(exported.Deployment, &state))
	for _, res := range state.Resources {
		assert.NotEqual(t, "kubernetes:apps/v1:StatefulSet", res.Type, "the stack no longer manages a StatefulSet")
	}
}
