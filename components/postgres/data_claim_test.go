package postgres

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/internal/componenttest"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/internal/mock"
)

// registerOnClaim registers a Postgres of the given size and class against a
// StatefulSet that already exists with a claim template of madeSize and madeClass, as
// the API server reports it (the program ignores changes to the template).
func registerOnClaim(t *testing.T, size, class, madeSize, madeClass string) (*mock.Monitor, error) {
	t.Helper()
	m := &mock.Monitor{Outputs: func(args pulumi.MockResourceArgs, outputs resource.PropertyMap) {
		if args.TypeToken != "kubernetes:apps/v1:StatefulSet" {
			return
		}
		claim := map[string]any{"accessModes": []any{"ReadWriteOnce"}, "volumeMode": "Filesystem",
			"resources": map[string]any{"requests": map[string]any{"storage": madeSize}}}
		if madeClass != "" {
			claim["storageClassName"] = madeClass
		}
		spec := outputs["spec"].ObjectValue().Copy()
		spec["volumeClaimTemplates"] = resource.NewPropertyValue([]any{map[string]any{"metadata": map[string]any{"name": "data"}, "spec": claim}})
		outputs["spec"] = resource.NewObjectProperty(spec)
	}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := NewPostgres(ctx, "db", &PostgresArgs{Namespace: pulumi.String("ns"), StorageSize: size, StorageClass: class})
		return err
	}, pulumi.WithMocks("backstage", "test", m))
	return m, err
}

func TestALargerSizeResizesTheExistingClaim(t *testing.T) {
	m, err := registerOnClaim(t, "20Gi", "standard", "8Gi", "standard")
	require.NoError(t, err)
	resize, ok := m.Named("db-data-resize")
	require.True(t, ok, "a larger size patches the claim the StatefulSet made")
	assert.Equal(t, "kubernetes:core/v1:PersistentVolumeClaimPatch", resize.Type)
	assert.Equal(t, "data-"+names.PostgresName+"-0", componenttest.Value(resize.Inputs, "metadata", "name"))
	assert.Equal(t, "20Gi", componenttest.Value(resize.Inputs, "spec", "resources", "requests", "storage"))
	assert.Nil(t, componenttest.Value(resize.Inputs, "spec", "storageClassName"), "the patch sets the size alone")
	assert.Equal(t, "true", componenttest.Value(resize.Inputs, "metadata", "annotations", "pulumi.com/patchForce"), "the controller made the claim and owns its size")
	assert.True(t, resize.RetainOnDelete, "letting the patch go never gives the size back")
}

func TestAClaimOfTheStacksSizeAndClassIsLeftAlone(t *testing.T) {
	for _, tc := range []struct{ name, size, class, madeSize, madeClass string }{
		{"same", "8Gi", "standard", "8Gi", "standard"},
		{"same quantity, other spelling", "8192Mi", "", "8Gi", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := registerOnClaim(t, tc.size, tc.class, tc.madeSize, tc.madeClass)
			require.NoError(t, err)
			_, ok := m.Named("db-data-resize")
			assert.False(t, ok)
		})
	}
}

func TestWhatAClaimCannotTakeIsRefusedWithTheFix(t *testing.T) {
	for _, tc := range []struct{ name, size, class, madeSize, madeClass, want string }{
		{"smaller", "4Gi", "standard", "8Gi", "standard",
			"backstage:postgresStorageSize is 4Gi, smaller than the database's claim (8Gi), and a volume never shrinks; set it to 8Gi or more"},
		{"another class", "8Gi", "fast", "8Gi", "standard",
			"backstage:postgresStorageClass is class fast, but the database's claim was made from class standard, and a claim never changes class; set it back to standard"},
		{"a class where the default made it", "8Gi", "fast", "8Gi", "",
			"made from the cluster's default class, and a claim never changes class; set it back to nothing (`pulumi config rm backstage:postgresStorageClass`)"},
		{"the default where a class made it", "8Gi", "", "8Gi", "standard",
			"backstage:postgresStorageClass is the cluster's default class, but the database's claim was made from class standard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := registerOnClaim(t, tc.size, tc.class, tc.madeSize, tc.madeClass)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, ok := m.Named("db-data-resize")
			assert.False(t, ok)
		})
	}
}
