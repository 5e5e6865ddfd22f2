package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConnectionBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget ConnectionBudget
		pool   int
	}{
		// 100 - 3 pods' admin connections - 3 reserved - 2 jobs = 92 for 24 pools.
		{"the defaults: two replicas and a surge pod", ConnectionBudget{MaxConnections: 100, PeakPods: 3, Plugins: 8}, 3},
		{"one pod keeps Knex's default", ConnectionBudget{MaxConnections: 200, PeakPods: 1, Plugins: 8}, KnexDefaultPoolMax},
		{"too many pods for the server", ConnectionBudget{MaxConnections: 100, PeakPods: 7, Plugins: 8}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := tc.budget.PoolMax()
			assert.Equal(t, tc.pool, pool)
			if pool >= MinPoolMax {
				assert.LessOrEqual(t, tc.budget.Needed(pool), tc.budget.MaxConnections, "the pool fits")
			}
			if pool < KnexDefaultPoolMax {
				assert.Greater(t, tc.budget.Needed(pool+1), tc.budget.MaxConnections, "the pool is the largest that fits")
			}
		})
	}
}
