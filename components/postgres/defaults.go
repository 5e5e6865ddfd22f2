package postgres

import "github.com/arhean/backstage-pulumi/components/names"

// The values the database's components use when their args leave a field out, and the
// limits they accept. The stack's key table (config/keys*.go) defaults to the same
// constants and checks the same limits, so a library user and a stack user get one
// behaviour. The pinned images are in package pins.
const (
	DefaultUser            = names.App
	DefaultStorageSize     = "8Gi"
	DefaultSharedBuffers   = "256MB"
	DefaultMaxConnections  = 100
	DefaultProtectDatabase = true
	// DefaultMajorVersion is for new stacks; existing ones pin the major they run.
	DefaultMajorVersion    = 18
	DefaultBackupSchedule  = "17 3 * * *" // daily, off the hour
	DefaultBackupRetention = 7
	DefaultBackupSize      = "8Gi"

	// Oldest and newest majors the program runs.
	MinMajorVersion   = 14
	MaxMajorVersion   = 18
	MinStorageSize    = "1Gi"
	MaxStorageSize    = "16Ti"
	MinMaxConnections = 10
	MaxMaxConnections = 10000
)
