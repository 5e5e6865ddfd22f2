// Package pins holds the versions the program pins: chart versions and images.
// Renovate bumps them here (renovate.json): keep each on a line of its own. Tests
// compare against these constants, never against the literal values.
package pins

import "strings"

const (
	IngressNginxChartVersion = "4.15.1"  // the final release: ingress-nginx is retired upstream
	CertManagerChartVersion  = "v1.21.2" // 1.19 or later: older releases are out of support
	EnvoyGatewayChartVersion = "v1.9.1"  // chart and controller image share the version
	// One pinned image per PostgreSQL major: Renovate moves each within its major only.
	Postgres14Image = "postgres:14.19"
	Postgres15Image = "postgres:15.14"
	Postgres16Image = "postgres:16.10"
	Postgres17Image = "postgres:17.6"
	Postgres18Image = "postgres:18.1"
	InitImage       = "busybox:1.36"
	// RcloneImage carries rclone, which streams an external database's dumps to a bucket.
	RcloneImage = "rclone/rclone:1.76.0"
	// PgBackRestVersion is PGDG's pgBackRest that images/postgres-pgbackrest adds to each
	// pinned postgres image: 2.56 is the first to know PostgreSQL 18.
	PgBackRestVersion = "2.57.0"
)

// PgBackRestRepository is where images/postgres-pgbackrest is published, tagged
// <postgres tag>-<pgBackRest version>: not a version, so no Renovate manager reads it.
var PgBackRestRepository = "ghcr.io/arhean/backstage-postgres-pgbackrest"

// PgBackRestImage is the pinned postgres image of a major with pgBackRest added, the
// server's image when its backups go to an object store; "" for a major without a pin.
func PgBackRestImage(major int) string {
	image, ok := PostgresImages[major]
	if !ok {
		return ""
	}
	return PgBackRestRepository + ":" + strings.TrimPrefix(image, "postgres:") + "-" + PgBackRestVersion
}

// PostgresImages are the pinned images by major, PostgresEndOfLife the day each major's
// community support ends (postgresql.org/support/versioning).
var (
	PostgresImages = map[int]string{
		14: Postgres14Image, 15: Postgres15Image, 16: Postgres16Image,
		17: Postgres17Image, 18: Postgres18Image,
	}
	PostgresEndOfLife = map[int]string{
		14: "2026-11-12", 15: "2027-11-11", 16: "2028-11-09", 17: "2029-11-08", 18: "2030-11-14",
	}
)
