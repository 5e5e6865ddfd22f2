package postgres

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/arhean/backstage-pulumi/components/workload"
)

// The rules of the database's args that a stack's keys also fill. NewPostgres and
// NewBackups run them on their args and the stack's key table (config) on its keys: one
// rule, one message, whichever way the value comes in.

// MaxBackupRetention bounds the complete backups kept on the claim.
const MaxBackupRetention = 365

// CheckMajorVersion refuses a major the program has no image for.
func CheckMajorVersion(v int) error {
	return workload.Between(v, MinMajorVersion, MaxMajorVersion, "the majors the program has images for")
}

// CheckMaxConnections bounds max_connections.
func CheckMaxConnections(v int) error {
	return workload.Between(v, MinMaxConnections, MaxMaxConnections, "Backstage needs about 10 per replica and plugin")
}

// CheckStorageSize bounds the data volume.
func CheckStorageSize(v string) error {
	return volumeSize(v, DefaultStorageSize)
}

// CheckBackupSize bounds the backup claim.
func CheckBackupSize(v string) error {
	return volumeSize(v, DefaultBackupSize)
}

// CheckBackupRetention bounds the complete backups kept.
func CheckBackupRetention(v int) error {
	return workload.Between(v, 1, MaxBackupRetention, "complete backups kept on the claim")
}

// CheckSharedBuffers refuses what is not a PostgreSQL size of at least its minimum.
func CheckSharedBuffers(v string) error {
	bytes, err := SizeBytes(v)
	if err != nil {
		return fmt.Errorf("%q is not a PostgreSQL size; use a number with kB, MB, GB or TB, e.g. %s", v, DefaultSharedBuffers)
	}
	if bytes < 128<<10 {
		return fmt.Errorf("%q is below PostgreSQL's minimum of 128kB; e.g. %s", v, DefaultSharedBuffers)
	}
	return nil
}

// volumeSize refuses what is not a Kubernetes quantity from MinStorageSize to
// MaxStorageSize, a volume the database can live on.
func volumeSize(v, example string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("%q is not a Kubernetes quantity; use binary units such as %s (not 8GB)", v, example)
	}
	if q.Cmp(resource.MustParse(MinStorageSize)) < 0 {
		return fmt.Errorf("%q is below %s; the catalog database needs room to grow, e.g. %s", v, MinStorageSize, example)
	}
	if q.Cmp(resource.MustParse(MaxStorageSize)) > 0 {
		return fmt.Errorf("%q is above %s; check the unit (Gi, Ti), e.g. %s", v, MaxStorageSize, example)
	}
	return nil
}
