package postgres

import (
	"fmt"

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
	return workload.QuantityBetween(v, MinStorageSize, MaxStorageSize, DefaultStorageSize)
}

// CheckBackupSize bounds the backup claim.
func CheckBackupSize(v string) error {
	return workload.QuantityBetween(v, MinStorageSize, MaxStorageSize, DefaultBackupSize)
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
