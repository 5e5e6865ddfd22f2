package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/arhean/backstage-pulumi/components"
)

// The end-of-life warning starts the day after the major's last day of support, and
// only production gets it.
func TestEndOfLifeWarningFollowsTheCalendar(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	warnings := func(env Environment, now time.Time) []string {
		s := &Stack{Environment: env, Database: DatabaseInCluster, Postgres: components.PostgresArgs{MajorVersion: 14}}
		checkPostgresMajor(&reader{}, s, now)
		return s.Warnings
	}
	assert.Empty(t, warnings(Production, day("2026-11-01")), "still supported")
	assert.Len(t, warnings(Production, day("2026-11-13")), 1, "past 2026-11-12")
	assert.Empty(t, warnings(Development, day("2026-11-13")), "development does not warn")
}
