package tests

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Every pod template the program renders passes Pod Security "restricted", judged by
// the same checks the API server's admission plugin runs.
func TestEveryPodTemplatePassesPodSecurityRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	restricted := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}

	stacks := map[string]stackConfig{
		"prod during a major upgrade": upgrading(t, false),
		// The server's archiving, the init container that restores from another stack's
		// folder, the base backups, the restore and the first backup's Job.
		"dev backing up to an object store": withObjectStore(t, "dev", `"restoreFrom":"/backstage-prod","serviceAccountAnnotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/r"}`),
	}
	for _, stack := range []string{"kind", "dev", "prod", "local"} {
		stacks[stack] = loadStack(t, stack)
	}
	for name, cfg := range stacks {
		t.Run(name, func(t *testing.T) {
			rec := mustRun(t, cfg)
			workloads := append(rec.ofType(typeDeployment), rec.ofType(typeStatefulSet)...)
			workloads = append(workloads, rec.ofType(typeJob)...)
			workloads = append(workloads, rec.ofType(typeCronJob)...)
			require.NotEmpty(t, rec.ofType(typeJob), "the database Jobs are judged too")
			// The first base backup is a Job of its own.
			require.Len(t, workloads, 1+2*len(rec.ofType(typeStatefulSet))+len(rec.ofType(typeCronJob))+len(rec.ofTypeNamed(typeJob, "postgres-first-base-backup")), "a server and its Job each")
			for _, w := range workloads {
				var template corev1.PodTemplateSpec
				templatePath := []string{"spec", "template"}
				if w.Type == typeCronJob {
					templatePath = []string{"spec", "jobTemplate", "spec", "template"}
				}
				data, err := json.Marshal(plain(get(w.Inputs, templatePath...)))
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(data, &template))
				require.NotEmpty(t, template.Spec.Containers, w.Name)

				result := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &template.ObjectMeta, &template.Spec))
				assert.True(t, result.Allowed, "%s: %s: %s", w.Name, result.ForbiddenReason(), result.ForbiddenDetail())
			}
		})
	}
}

// The check above can fail: a template without the restricted settings is refused.
func TestPodSecurityCheckRefusesAnUnrestrictedPod(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/unrestricted:1"}}}
	result := policy.AggregateCheckResults(evaluator.EvaluatePod(
		api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}, &metav1.ObjectMeta{}, spec))
	assert.False(t, result.Allowed)
}
