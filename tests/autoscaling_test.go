package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const typeHPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

// With autoscaling, a HorizontalPodAutoscaler owns the replica count: the Deployment
// leaves spec.replicas out, so an up neither resets nor diffs what the autoscaler
// chose; the disruption budget stays; the pools are sized for maxReplicas plus the surge.
func TestAutoscalingOwnsTheReplicaCount(t *testing.T) {
	cfg := loadStack(t, "prod").with("autoscaling", `{"minReplicas":2,"maxReplicas":4,"targetCPUUtilizationPercentage":70,"targetMemoryUtilizationPercentage":80}`)
	rec := mustRun(t, cfg)
	deploy := rec.kube(t, typeDeployment, "backstage").Inputs
	assert.Nil(t, plain(get(deploy, "spec", "replicas")), "the Deployment does not apply replicas")

	hpa := rec.kube(t, typeHPA, "backstage").Inputs
	assert.Equal(t, "Deployment", str(hpa, "spec", "scaleTargetRef", "kind"))
	assert.Equal(t, "backstage", str(hpa, "spec", "scaleTargetRef", "name"))
	assert.Equal(t, 2.0, plain(get(hpa, "spec", "minReplicas")))
	assert.Equal(t, 4.0, plain(get(hpa, "spec", "maxReplicas")))
	assert.Equal(t, "cpu", str(hpa, "spec", "metrics", "0", "resource", "name"))
	assert.Equal(t, 70.0, plain(get(hpa, "spec", "metrics", "0", "resource", "target", "averageUtilization")))
	assert.Equal(t, "memory", str(hpa, "spec", "metrics", "1", "resource", "name"))
	rec.kube(t, typePDB, "backstage")

	// Fixed at 2 replicas the peak is 3 pods; autoscaled up to 4 it is 5, so each
	// plugin's pool gets less of the same max_connections.
	assert.Greater(t, loadConfig(t, loadStack(t, "prod")).DatabasePoolMax(), loadConfig(t, cfg).DatabasePoolMax())

	plainRec := mustRun(t, loadStack(t, "prod"))
	assert.Empty(t, plainRec.ofType(typeHPA), "no autoscaler unless asked")
	assert.Equal(t, 2.0, plain(get(plainRec.kube(t, typeDeployment, "backstage").Inputs, "spec", "replicas")))
}

func TestAutoscalingOutsideItsBoundsIsRefused(t *testing.T) {
	for _, c := range []struct{ stack, key, value, want string }{
		{"dev", "autoscaling", `{"minReplicas":0,"maxReplicas":3,"targetCPUUtilizationPercentage":70}`, "minReplicas is 0"},
		{"dev", "autoscaling", `{"minReplicas":3,"maxReplicas":2,"targetCPUUtilizationPercentage":70}`, "maxReplicas is 2; use a value from 3"},
		{"dev", "autoscaling", `{"minReplicas":1,"maxReplicas":50,"targetCPUUtilizationPercentage":70}`, "maxReplicas is 50"},
		{"dev", "autoscaling", `{"minReplicas":1,"maxReplicas":3}`, "sets no target"},
		{"dev", "autoscaling", `{"minReplicas":1,"maxReplicas":3,"targetCPUUtilizationPercentage":5}`, "targetCPUUtilizationPercentage is 5"},
		{"dev", "autoscaling", `{"minReplicas":1,"maxReplicas":3,"targetCpu":70}`, `unknown field "targetCpu"`},
		{"prod", "autoscaling", `{"minReplicas":1,"maxReplicas":3,"targetCPUUtilizationPercentage":70}`, "production runs at least 2 replicas"},
		{"prod", "autoscaling", `{"minReplicas":2,"maxReplicas":20,"targetCPUUtilizationPercentage":70}`, ""},
	} {
		cfg := loadStack(t, c.stack).with(c.key, c.value)
		key := c.key
		if c.want == "" {
			// 21 pods at the peak x 8 plugins cannot have pools of 2 within 100 connections.
			key, c.want = "postgresMaxConnections", "(autoscaling.maxReplicas plus maxSurge)"
		}
		rec, err := run(t, cfg)
		require.Error(t, err, c.value)
		assert.Contains(t, err.Error(), "backstage:"+key+": ", c.value)
		assert.Contains(t, err.Error(), c.want, c.value)
		assert.Empty(t, rec.Registrations())
	}
	_, err := run(t, loadStack(t, "dev").with("replicas", "3").with("autoscaling", `{"minReplicas":1,"maxReplicas":3,"targetCPUUtilizationPercentage":70}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:replicas: is 3, but backstage:autoscaling owns the replica count")
}
