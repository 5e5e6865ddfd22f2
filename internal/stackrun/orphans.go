package stackrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/arhean/backstage-pulumi/config"
)

// A create the engine is killed in leaves its object in the cluster under the
// server-side apply field manager the provider drew for it (`pulumi-kubernetes-xxxxxxxx`),
// a name the state never receives. The next up adopts the object under a new name, and
// the two then co-own its fields: the first later change of one fails as an apply
// conflict between them. So before the refresh forgets a pending create, the recovery
// drops the provider's managers from that object's managedFields. Its fields stay as
// they are, unowned until the adopting up applies them under the state's manager.

// providerManagerPrefix starts every field manager the provider draws in server-side
// apply mode.
const providerManagerPrefix = "pulumi-kubernetes-"

// kubeObject names an object the way kubectl finds it.
type kubeObject struct {
	Resource  string // Kind, or Kind.group outside the core group
	Name      string
	Namespace string
}

func (o kubeObject) String() string {
	if o.Namespace == "" {
		return o.Resource + " " + o.Name
	}
	return o.Resource + " " + o.Namespace + "/" + o.Name
}

// pendingCreatedObjects are the Kubernetes objects whose create the state marks in flight.
func pendingCreatedObjects(d *apitype.DeploymentV3) []kubeObject {
	if d == nil {
		return nil
	}
	var objects []kubeObject
	for _, op := range d.PendingOperations {
		if op.Type != apitype.OperationTypeCreating || !strings.HasPrefix(string(op.Resource.Type), "kubernetes:") {
			continue
		}
		apiVersion, _ := op.Resource.Inputs["apiVersion"].(string)
		kind, _ := op.Resource.Inputs["kind"].(string)
		metadata, _ := op.Resource.Inputs["metadata"].(map[string]any)
		name, _ := metadata["name"].(string)
		namespace, _ := metadata["namespace"].(string)
		if kind == "" || name == "" {
			continue
		}
		resource := kind
		if group, _, grouped := strings.Cut(apiVersion, "/"); grouped {
			resource += "." + group
		}
		objects = append(objects, kubeObject{Resource: resource, Name: name, Namespace: namespace})
	}
	return objects
}

// providerManagersPatch is a JSON patch that removes the provider's managers from
// managedFields, each removal guarded by a test of the entry's manager; nil when none.
func providerManagersPatch(managedFields []managedFieldsEntry) ([]byte, []string) {
	var ops []map[string]any
	var managers []string
	// From the last entry down, so that each removal leaves the earlier indexes valid.
	for i := len(managedFields) - 1; i >= 0; i-- {
		entry := managedFields[i]
		if !strings.HasPrefix(entry.Manager, providerManagerPrefix) {
			continue
		}
		path := fmt.Sprintf("/metadata/managedFields/%d", i)
		ops = append(ops,
			map[string]any{"op": "test", "path": path + "/manager", "value": entry.Manager},
			map[string]any{"op": "remove", "path": path})
		managers = append(managers, entry.Manager)
	}
	if len(ops) == 0 {
		return nil, nil
	}
	patch, _ := json.Marshal(ops) // maps of strings always encode
	return patch, managers
}

type managedFieldsEntry struct {
	Manager   string `json:"manager"`
	Operation string `json:"operation"`
}

// releaseInterruptedCreates drops the provider's managers from every object a pending
// create reached, and says what it dropped.
func (s *Stack) releaseInterruptedCreates(ctx context.Context, objects []kubeObject) ([]string, error) {
	if len(objects) == 0 {
		return nil, nil
	}
	kubectl := s.kubectl(ctx)
	var said []string
	for _, o := range objects {
		out, err := kubectl.run(o, "get", "--ignore-not-found", "-o", "json", "--show-managed-fields")
		if err != nil {
			return said, err
		}
		if len(out) == 0 {
			continue // the create never reached the cluster
		}
		var live struct {
			Metadata struct {
				ManagedFields []managedFieldsEntry `json:"managedFields"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(out, &live); err != nil {
			return said, fmt.Errorf("%s: %w", o, err)
		}
		patch, managers := providerManagersPatch(live.Metadata.ManagedFields)
		if patch == nil {
			continue
		}
		if _, err := kubectl.run(o, "patch", "--type=json", "-p", string(patch)); err != nil {
			return said, err
		}
		said = append(said, fmt.Sprintf("%s: dropped the field manager %s of the interrupted create (its fields stay; the next up applies them under the state's manager)",
			o, strings.Join(managers, ", ")))
	}
	return said, nil
}

// kubectl runs kubectl against the cluster the stack's provider uses: the workspace's
// KUBECONFIG and the stack's kubeContext.
type kubectl struct {
	ctx    context.Context
	global []string
	env    []string
}

func (s *Stack) kubectl(ctx context.Context) kubectl {
	k := kubectl{ctx: ctx, env: append(os.Environ(), s.WorkspaceEnv()...)}
	if value, err := s.GetConfig(ctx, config.KeyKubeContext.FullName()); err == nil && value.Value != "" {
		k.global = []string{"--context", value.Value}
	}
	return k
}

func (k kubectl) run(o kubeObject, verb string, args ...string) ([]byte, error) {
	full := append(append([]string{}, k.global...), verb, o.Resource, o.Name)
	if o.Namespace != "" {
		full = append(full, "-n", o.Namespace)
	}
	cmd := exec.CommandContext(k.ctx, "kubectl", append(full, args...)...)
	cmd.Env = k.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl %s %s: %w: %s", verb, o, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
