package stackrun

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
)

// PlainOutput reads one output of the stack's last update from the file backend's
// checkpoint, where values that are not secret stand in the clear: `pulumi stack output`
// would cost a CLI process and a key derivation (0.3 s) on every `make up`. A secret,
// or a value that holds one, is refused: only the CLI, with the passphrase, decrypts it.
func PlainOutput(stateDir, stack, name string) (any, error) {
	deployment, err := readDeployment(checkpointPath(stateDir, stack))
	if err != nil {
		return nil, err
	}
	if deployment == nil {
		return nil, fmt.Errorf("stack %q has no state in %s yet: run `make up STACK=%s` first", stack, stateDir, stack)
	}
	for _, r := range deployment.Resources {
		if r.Type != resource.RootStackType || r.Delete {
			continue
		}
		value, ok := r.Outputs[name]
		if !ok {
			return nil, fmt.Errorf("stack %q has no output %q", stack, name)
		}
		if !plain(value) {
			return nil, fmt.Errorf("stack %q: output %q is a secret; read it with `pulumi stack output %s --show-secrets`", stack, name, name)
		}
		return value, nil
	}
	return nil, fmt.Errorf("stack %q: its state holds no stack resource; run `make up STACK=%s`", stack, stack)
}

// plain says whether a checkpoint value holds no signed object: a secret, asset or
// resource reference is stored as a map under sig.Key.
func plain(value any) bool {
	switch v := value.(type) {
	case map[string]any:
		if _, signed := v[sig.Key]; signed {
			return false
		}
		for _, e := range v {
			if !plain(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !plain(e) {
				return false
			}
		}
	}
	return true
}
