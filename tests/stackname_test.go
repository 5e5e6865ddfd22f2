package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackName runs hack/stack-name.sh as the workflows' stack action does.
func stackName(t *testing.T, stack, backend, org string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "stack-name.sh"), stack)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PULUMI_BACKEND_URL=" + backend, "PULUMI_ORG=" + org}
	out, err := cmd.Output()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return "", &scriptError{string(exitErr.Stderr)}
	}
	return strings.TrimSpace(string(out)), err
}

type scriptError struct{ stderr string }

func (e *scriptError) Error() string { return e.stderr }

// A self-managed backend has the one organisation "organization" (its CLI refuses any
// other; TestE2EASelfManagedBackendTakesTheWorkflowsStackName shows it), Pulumi Cloud
// the team's.
func TestTheWorkflowsNameEachStackForItsBackend(t *testing.T) {
	for _, tc := range []struct{ backend, org, want string }{
		{"s3://state-bucket", "", "organization/prod"},
		{"s3://state-bucket?region=eu-west-1", "acme", "organization/prod"},
		{"gs://state", "organization", "organization/prod"},
		{"azblob://state", "", "organization/prod"},
		{"file:///var/state", "", "organization/prod"},
		{"", "acme", "acme/prod"},
		{"https://api.pulumi.com", "acme", "acme/prod"},
	} {
		got, err := stackName(t, "prod", tc.backend, tc.org)
		require.NoError(t, err, "%s %s", tc.backend, tc.org)
		assert.Equal(t, tc.want, got, "%s %s", tc.backend, tc.org)
	}
	_, err := stackName(t, "prod", "", "")
	assert.ErrorContains(t, err, "set the repository variable PULUMI_ORG", "Pulumi Cloud would put the stack under the token owner's own organisation")
	_, err = stackName(t, "prod", "postgres://state", "acme")
	assert.ErrorContains(t, err, "PULUMI_BACKEND_URL=postgres://state is neither")
}
