package tests

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// linkedKubernetesPackages are the pulumi-kubernetes SDK packages the program may
// link. Every `pulumi preview` and `pulumi up` with `runtime: go` links the program
// first; the SDK's helm/v3 package alone drags in all 65 API packages (6.6 s and 3.9
// GB per link instead of about 3 s and 1.4 GB). A new API group belongs here only
// after measuring its cost (`make bench`).
var linkedKubernetesPackages = []string{
	"apiextensions",
	"apps/v1",
	"batch/v1",
	"core/v1",
	"helm/v4",
	"meta/v1",
	"networking/v1",
	"policy/v1",
	"rbac/v1",
	"utilities",
}

func TestProgramLinksOnlyTheKubernetesAPIPackagesItUses(t *testing.T) {
	const sdk = "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/"
	out, err := exec.Command("go", "list", "-deps", "..").CombinedOutput()
	require.NoError(t, err, string(out))
	var linked []string
	for _, pkg := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(pkg, sdk); ok {
			linked = append(linked, rest)
		}
	}
	slices.Sort(linked)
	assert.NotEmpty(t, linked, "go list found none of the SDK's packages: is the module path right?")
	for _, pkg := range linked {
		assert.Contains(t, linkedKubernetesPackages, pkg,
			"the program now links %s%s; import only the API groups it registers (helm/v3 imports all of them)", sdk, pkg)
	}
}
