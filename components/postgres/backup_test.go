package postgres

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/internal/componenttest"
)

// A size the claim could not hold is an error naming the field, not a panic of the
// program as Kubernetes' quantity parser would raise.
func TestBackupsRefuseASizeThatIsNoQuantity(t *testing.T) {
	m, err := componenttest.Register(t, func(ctx *pulumi.Context) error {
		_, err := NewBackups(ctx, "backups", &BackupArgs{
			Namespace: pulumi.String("ns"), Image: "postgres:18.1", Size: "20 gigabytes",
			Database: backstage.DatabaseConnection{Host: pulumi.String("db"), User: pulumi.String("app"), Password: pulumi.String("pw")},
		})
		return err
	})
	assert.ErrorContains(t, err, `field Size "20 gigabytes" is not a Kubernetes quantity`)
	assert.Empty(t, m.Registrations(), "nothing is registered")
}
