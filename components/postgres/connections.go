package postgres

// The in-cluster database's connection budget. Backstage keeps one Knex pool per plugin
// (a database each) in every pod, and leaves the pool's max at Knex's default; at a
// rollout's peak the old and the surge pods hold theirs at once. Left alone, three pods
// of eight plugins may open 240 connections against max_connections 100, and the
// plugin that asks last fails with "sorry, too many clients already".

const (
	// KnexDefaultPoolMax is Knex's pool max, which Backstage keeps (it sets only min: 0).
	KnexDefaultPoolMax = 10
	// MinPoolMax is the smallest pool a plugin works with: one that runs a transaction
	// while it queries outside it needs two.
	MinPoolMax = 2
	// DefaultDatabasePlugins counts the plugins of a new Backstage app that keep a
	// database: app, auth, catalog, notifications, permission, scaffolder, search and
	// user-settings.
	DefaultDatabasePlugins = 8
	// PostgreSQL keeps superuser_reserved_connections (3) for the superuser.
	superuserReservedConnections = 3
	// The backup CronJob's pg_dump and the least-privilege or restore Job, one each.
	jobConnections = 2
	// Every pod's admin connection, with which it creates the plugins' databases.
	adminConnectionsPerPod = 1
)

// ConnectionBudget is what the database serves at a rollout's peak.
type ConnectionBudget struct {
	MaxConnections int
	// PeakPods is replicas plus the rollout's surge.
	PeakPods int
	Plugins  int
}

// Needed is the max_connections that pools of poolMax need.
func (b ConnectionBudget) Needed(poolMax int) int {
	return b.PeakPods*(b.Plugins*poolMax+adminConnectionsPerPod) + superuserReservedConnections + jobConnections
}

// PoolMax is the largest pool every plugin of every pod can have, at most Knex's
// default; below MinPoolMax the budget does not fit.
func (b ConnectionBudget) PoolMax() int {
	free := b.MaxConnections - b.Needed(0)
	return min(free/(b.PeakPods*b.Plugins), KnexDefaultPoolMax)
}
