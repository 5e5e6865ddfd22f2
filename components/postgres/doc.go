// Package postgres is the in-cluster database: the Postgres component (its StatefulSet,
// Service, Secrets and the least-privilege role Job), MajorUpgrade (the copy to a new
// major beside the old server), Backups (CronJobs to a claim, and the restore Job), and
// the shell and SQL their pods run, as files in scripts/ embedded with go:embed.
package postgres
