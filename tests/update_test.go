package tests

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// changedInputs runs the stack twice and names the resources whose inputs differ.
func changedInputs(t *testing.T, before, after stackConfig) []string {
	t.Helper()
	a, b := mustRun(t, before), mustRun(t, after)
	inputs := map[string]any{}
	for _, res := range a.Registrations() {
		inputs[res.Type+"::"+res.Name] = plain(get(res.Inputs))
	}
	var changed []string
	seen := map[string]bool{}
	for _, res := range b.Registrations() {
		key := res.Type + "::" + res.Name
		seen[key] = true
		old, existed := inputs[key]
		require.True(t, existed, "%s appeared", key)
		if !assert.ObjectsAreEqual(old, plain(get(res.Inputs))) {
			changed = append(changed, key)
		}
	}
	for key := range inputs {
		assert.True(t, seen[key], "%s disappeared", key)
	}
	sort.Strings(changed)
	return changed
}

func TestImageBumpChangesOnlyTheDeployment(t *testing.T) {
	for _, stack := range []string{"kind", "dev", "prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			before := loadStack(t, stack)
			after := before.with("image", "ghcr.io/arhean/backstage:1.0.1")
			assert.Equal(t, []string{typeDeployment + "::backstage-deployment"}, changedInputs(t, before, after))
		})
	}
}

func TestDatabaseSettingsNeverTouchThePasswordOrTheClaim(t *testing.T) {
	cases := []struct {
		key, value string
		changed    []string
	}{
		// New server flags roll the one pod; the claim and the password stay. More
		// connections resize each plugin's pool too, which rolls Backstage.
		{"postgresMaxConnections", "200", []string{typeDeployment + "::backstage-deployment", typeStatefulSet + "::postgres-statefulset",
			typeConfigMap + "::backstage-app-config"}},
		{"postgresSharedBuffers", "512MB", []string{typeStatefulSet + "::postgres-statefulset"}},
		// The role Job's inputs follow the image, but it ignores changes to its spec
		// (checked in TestTheRoleJobRunsOnce), so the engine leaves it alone.
		// The backups use the server's own tools, so they follow its image (CronJobs
		// update in place; the next run uses the new tools).
		{"postgresImage", pins.Postgres14Image + "-bumped", []string{typeStatefulSet + "::postgres-statefulset",
			typeCronJob + "::backups-cronjob", typeCronJob + "::backups-restore", typeJob + "::postgres-least-privilege"}},
		// Only the claim template changes, which the StatefulSet ignores (TestStacksPostgres).
		{"postgresStorageSize", "16Gi", []string{typeStatefulSet + "::postgres-statefulset"}},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			before := loadStack(t, "dev")
			after := before.with(tc.key, tc.value)
			assert.Equal(t, tc.changed, changedInputs(t, before, after))
		})
	}
}

func TestConfigChangeRollsThePods(t *testing.T) {
	before := loadStack(t, "dev")
	a := mustRun(t, before).kube(t, typeDeployment, "backstage").Inputs
	b := mustRun(t, before.with("host", "portal.localtest.me")).kube(t, typeDeployment, "backstage").Inputs
	assert.NotEqual(t, str(a, "spec", "template", "metadata", "annotations", "checksum/config"),
		str(b, "spec", "template", "metadata", "annotations", "checksum/config"))
	assert.Equal(t, str(a, "spec", "template", "metadata", "annotations", "checksum/secrets"),
		str(b, "spec", "template", "metadata", "annotations", "checksum/secrets"))

	c := mustRun(t, before.withSecret("githubToken", "ghp_new")).kube(t, typeDeployment, "backstage").Inputs
	assert.NotEqual(t, str(a, "spec", "template", "metadata", "annotations", "checksum/secrets"),
		str(c, "spec", "template", "metadata", "annotations", "checksum/secrets"))
}
