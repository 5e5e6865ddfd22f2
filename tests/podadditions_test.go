package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const typeServiceAccount = "kubernetes:core/v1:ServiceAccount"

// The platform's own additions reach their objects beside the program's: pod labels and
// annotations on Backstage's pod template, workload-identity annotations on its
// ServiceAccount, and the token mount off on both.
func TestPodAdditionsAndWorkloadIdentityReachTheirObjects(t *testing.T) {
	rec := mustRun(t, loadStack(t, "kind").
		with("podLabels", `{"team":"platform","cost-center":"42"}`).
		with("podAnnotations", `{"sidecar.istio.io/inject":"true"}`).
		with("serviceAccountAnnotations", `{"eks.amazonaws.com/role-arn":"arn:aws:iam::123456789012:role/backstage"}`).
		with("automountServiceAccountToken", "false"))

	deploy := rec.kube(t, typeDeployment, "backstage").Inputs
	assert.Equal(t, "platform", str(deploy, "spec", "template", "metadata", "labels", "team"))
	assert.Equal(t, "42", str(deploy, "spec", "template", "metadata", "labels", "cost-center"))
	assert.Equal(t, "backstage", str(deploy, "spec", "template", "metadata", "labels", "app"), "the selector's labels stay")
	assert.Equal(t, "backend", str(deploy, "spec", "template", "metadata", "labels", "component"))
	assert.Equal(t, "true", str(deploy, "spec", "template", "metadata", "annotations", "sidecar.istio.io/inject"))
	assert.NotEmpty(t, str(deploy, "spec", "template", "metadata", "annotations", "checksum/config"), "the program's annotations stay")
	assert.Equal(t, false, plain(get(deploy, "spec", "template", "spec", "automountServiceAccountToken")))

	sa := rec.kube(t, typeServiceAccount, "backstage").Inputs
	assert.Equal(t, "arn:aws:iam::123456789012:role/backstage", str(sa, "metadata", "annotations", "eks.amazonaws.com/role-arn"))
	assert.Equal(t, false, plain(get(sa, "automountServiceAccountToken")))

	plainStack := mustRun(t, loadStack(t, "kind"))
	assert.Equal(t, true, plain(get(plainStack.kube(t, typeDeployment, "backstage").Inputs, "spec", "template", "spec", "automountServiceAccountToken")),
		"the token is mounted by default, for the Kubernetes plugin")
}

// Additions that would break the program's own wiring, or that the API server would
// refuse, are refused before anything is registered, naming the key.
func TestPodAdditionsThatBreakTheProgramsWiringAreRefused(t *testing.T) {
	for key, cases := range map[string]map[string]string{
		"podLabels": {
			`{"app":"portal"}`:       "sets app, which the program's selectors use",
			`{"component":"x"}`:      "sets component, which the program's selectors use",
			`{"bad key!":"x"}`:       `"bad key!" is not a label key`,
			`{"team":"not a value"}`: `"not a value" is not a label value`,
		},
		"podAnnotations": {
			`{"checksum/secrets":"0"}`:     "sets checksum/secrets, and checksum/* is the program's",
			`{"prometheus.io/port":"80"}`:  "sets prometheus.io/port, and prometheus.io/* is the program's",
			`{"not/a/qualified/name":"x"}`: `"not/a/qualified/name" is not an annotation key`,
		},
		"serviceAccountAnnotations": {
			`{"-leading":"x"}`: `"-leading" is not an annotation key`,
		},
	} {
		for value, want := range cases {
			rec, err := run(t, loadStack(t, "kind").with(key, value))
			require.Error(t, err, "%s %s", key, value)
			assert.Contains(t, err.Error(), "backstage:"+key+": ", "%s %s names its key", key, value)
			assert.Contains(t, err.Error(), want, "%s %s", key, value)
			assert.Empty(t, rec.Registrations(), "nothing is registered")
		}
	}
}
