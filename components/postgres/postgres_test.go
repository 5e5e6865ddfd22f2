package postgres

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/internal/componenttest"
	"github.com/arhean/backstage-pulumi/components/pins"
)

func TestPostgresDefaultsAreTheExportedConstants(t *testing.T) {
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := NewPostgres(ctx, "db", &PostgresArgs{Namespace: pulumi.String("ns")})
		return err
	})
	require.NoError(t, err)
	sts := m.MustNamed(t, "db-statefulset")
	assert.Equal(t, pins.PostgresImages[DefaultMajorVersion], componenttest.Value(sts.Inputs, "spec", "template", "spec", "containers", "0", "image"))
	assert.Equal(t, DefaultStorageSize, componenttest.Value(sts.Inputs, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests", "storage"))
	assert.Equal(t, []any{"-c", "max_connections=100", "-c", "shared_buffers=" + DefaultSharedBuffers},
		componenttest.Value(sts.Inputs, "spec", "template", "spec", "containers", "0", "args"))
	assert.Equal(t, DefaultProtectDatabase, sts.Protect, "a library user gets a protected database by default")
	assert.True(t, sts.RetainOnDelete)
	assert.Equal(t, []string{"spec.volumeClaimTemplates"}, sts.IgnoreChanges)
	assert.Equal(t, DefaultProtectDatabase, m.MustNamed(t, "db-password").Protect)
	assert.ElementsMatch(t, []string{"db-password", "db-bootstrap-password", "db-secret", "db-bootstrap-secret", "db-init", "db-service", "db-statefulset", "db-least-privilege", "db-pdb", "db-major-guard", "db-major-guard-binding"}, m.ChildrenOf("db"))
}

func TestPostgresProtectionCanBeLifted(t *testing.T) {
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := NewPostgres(ctx, "db", &PostgresArgs{Namespace: pulumi.String("ns"), Protect: pulumi.BoolRef(false)})
		return err
	})
	require.NoError(t, err)
	assert.False(t, m.MustNamed(t, "db-statefulset").Protect)
	assert.True(t, m.MustNamed(t, "db-statefulset").RetainOnDelete, "the data is kept on destroy either way")
}

func TestPostgresRefusesWhatAGoCallerCanGetWrong(t *testing.T) {
	for name, args := range map[string]*PostgresArgs{
		"missing required field Namespace":                        nil,
		"field MaxConnections is 5; use a value from 10 to 10000": {Namespace: pulumi.String("ns"), MaxConnections: 5},
		`field StorageSize "100Mi" is below 1Gi`:                  {Namespace: pulumi.String("ns"), StorageSize: "100Mi"},
		`field StorageSize "32Ti" is above 16Ti`:                  {Namespace: pulumi.String("ns"), StorageSize: "32Ti"},
		`field SharedBuffers "1 GB" is not a PostgreSQL size`:     {Namespace: pulumi.String("ns"), SharedBuffers: "1 GB"},
	} {
		m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
			_, err := NewPostgres(ctx, "db", args)
			return err
		})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
		assert.Empty(t, m.Registrations(), "nothing is registered")
	}
}

func TestImageMatchesMajorReadsTheTagNotTheRegistryPort(t *testing.T) {
	for image, major := range map[string]int{
		"postgres:16.4":                                    16,
		"postgres:18":                                      18,
		"postgres:17.6-bookworm":                           17,
		"registry.internal:5000/postgres:15.14":            15,
		"postgres:14.19@sha256:" + strings.Repeat("a", 64): 14,
	} {
		assert.NoError(t, ImageMatchesMajor(image, major), image)
	}
	assert.ErrorContains(t, ImageMatchesMajor("registry.internal:5000/postgres:latest", 5000), "no tag that names its PostgreSQL major")
	assert.ErrorContains(t, ImageMatchesMajor("postgres:18.1", 14), "is PostgreSQL 18 but the major is 14")
	assert.ErrorContains(t, ImageMatchesMajor("postgres", 16), "no tag")
	assert.ErrorContains(t, ImageMatchesMajor("postgres:16beta1", 16), "no tag")
}

// A size whose bytes do not fit an int64 is refused, not wrapped to a negative number
// that would pass every upper bound (shared_buffers' fit in /dev/shm among them).
func TestSizeBytesRefusesWhatOverflows(t *testing.T) {
	n, err := SizeBytes("256MB")
	require.NoError(t, err)
	assert.Equal(t, int64(256<<20), n)
	_, err = SizeBytes("9000000000TB")
	assert.ErrorContains(t, err, "is too large")
	assert.Error(t, CheckSharedBuffers("9000000000TB"))
	assert.Error(t, SharedBuffersFit("9000000000TB", DefaultResources))
}
