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
// first, and each typed API package costs up to a second of that (core/v1 alone: 1.0 s
// and 23 MB; helm/v3 drags in all 65). The program builds k8s.io/api structs and
// registers them by type token instead (internal/kube), so none is linked: the
// root package (the provider), helm/v4's Chart and what they share.
var linkedKubernetesPackages = []string{
	"helm/v4",
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
			"the program now links %s%s; build the object from k8s.io/api and register it with kube.New (helm/v3 imports every API group)", sdk, pkg)
	}
}
