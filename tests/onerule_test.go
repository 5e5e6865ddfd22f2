package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// A setting a stack key and a component's args both carry has one rule: the key table
// runs the component's own check, so the stack's problem is that check's message after
// the key's name, and the component refuses the same value. (Before, the component
// took a 32Ti volume and 50 replicas that the key refused.)
func TestAKeyAndItsComponentRefuseAValueWithOneRule(t *testing.T) {
	for _, c := range []struct {
		key, value string
		check      error
	}{
		{"replicas", "50", backstage.CheckReplicas(50)},
		{"postgresMajorVersion", "19", postgres.CheckMajorVersion(19)},
		{"postgresMaxConnections", "5", postgres.CheckMaxConnections(5)},
		{"postgresStorageSize", "32Ti", postgres.CheckStorageSize("32Ti")},
		{"postgresStorageSize", "100Mi", postgres.CheckStorageSize("100Mi")},
		{"postgresSharedBuffers", "1 GB", postgres.CheckSharedBuffers("1 GB")},
		{"backup", `{"retention":1000}`, postgres.CheckBackupRetention(1000)},
		{"backup", `{"size":"20 gigabytes"}`, postgres.CheckBackupSize("20 gigabytes")},
	} {
		require.Error(t, c.check, "%s %s is a value the component refuses", c.key, c.value)
		_, err := run(t, loadStack(t, "kind").with(c.key, c.value))
		require.Error(t, err, "%s %s", c.key, c.value)
		problem := "backstage:" + c.key + ": "
		for _, line := range strings.Split(err.Error(), "\n") {
			if i := strings.Index(line, problem); i >= 0 {
				assert.Contains(t, line[i+len(problem):], c.check.Error(), "%s %s: the key's problem is the component's rule", c.key, c.value)
			}
		}
		assert.Contains(t, err.Error(), problem, "%s %s is refused by its key", c.key, c.value)
	}
}
