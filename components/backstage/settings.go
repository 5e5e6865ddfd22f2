package backstage

import (
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/workload"
)

// DefaultResources are what the Backstage pod ran with before they were a setting.
var DefaultResources = workload.Resources{
	Requests: workload.ResourceList{CPU: "250m", Memory: "512Mi"},
	Limits:   workload.ResourceList{CPU: "1", Memory: "2Gi"},
}

// RegistryAuth is a registry login the program turns into a pull Secret.
type RegistryAuth struct {
	Server   string
	Username string
	Password pulumi.StringInput
}

// dockerConfigJSON is the body of a kubernetes.io/dockerconfigjson Secret.
func (a *RegistryAuth) dockerConfigJSON() pulumi.StringOutput {
	return pulumi.ToSecret(a.Password.ToStringOutput().ApplyT(func(password string) (string, error) {
		auth := map[string]any{"auths": map[string]any{a.Server: map[string]string{
			"username": a.Username, "password": password,
		}}}
		out, err := json.Marshal(auth)
		return string(out), err
	})).(pulumi.StringOutput)
}

// envNamePrefixesOwned are the environment the program sets itself; a user's env or
// secretEnv may not shadow them.
var envNamePrefixesOwned = []string{"POSTGRES_", "APP_CONFIG_"}

var envNamesOwned = []string{
	"NODE_ENV", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "LOG_LEVEL", "APP_BASE_URL", "BACKEND_URL",
	"BACKEND_SECRET", "GITHUB_TOKEN", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET",
}

// EnvNameOwned says whether the program sets this variable itself.
func EnvNameOwned(name string) bool {
	for _, owned := range envNamesOwned {
		if name == owned {
			return true
		}
	}
	for _, prefix := range envNamePrefixesOwned {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
