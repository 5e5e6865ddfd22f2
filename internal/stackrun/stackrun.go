// Package stackrun runs the Backstage program under the real Pulumi engine through the
// Automation API, as an inline program: no language host is needed, and the engine,
// state, secrets and provider are the real ones. cmd/stack and the end-to-end tests use it.
package stackrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/arhean/backstage-pulumi/program"
)

// LocalPassphrase encrypts the secrets of the `local`, `local-edge` and `realnode`
// stacks, which exist only for the throwaway control plane on loopback; every other
// stack needs PULUMI_CONFIG_PASSPHRASE (or a cloud backend's secrets provider).
const LocalPassphrase = "local-control-plane"

// localStacks are the stack files whose secrets LocalPassphrase encrypts.
var localStacks = []string{"local", "local-edge", "realnode"}

// Project is Pulumi.yaml's name, under which the file backend keeps the stacks.
const Project = "backstage"

// Options says which stack to run and where its state lives.
type Options struct {
	// Stack is the stack name.
	Stack string
	// ConfigFrom names the stack file to read, Pulumi.<ConfigFrom>.yaml; defaults to Stack.
	ConfigFrom string
	// ProjectDir holds Pulumi.yaml and the stack files.
	ProjectDir string
	// StateDir is the local file backend's folder.
	StateDir string
	// Isolated copies Pulumi.yaml and the stack file into a temporary work folder, so
	// that config changes (tests, rendering) never touch the files in ProjectDir.
	Isolated bool
	// Env is passed to the engine and the provider (KUBECONFIG, for one).
	Env map[string]string
}

// Stack is a selected stack, the folder whose stack file it reads, and the file
// backend's folder that holds its state.
type Stack struct {
	auto.Stack
	WorkDir  string
	StateDir string
}

// Select creates or selects the stack on the local backend.
func Select(ctx context.Context, o Options) (*Stack, error) {
	if o.ConfigFrom == "" {
		o.ConfigFrom = o.Stack
	}
	stackFile := filepath.Join(o.ProjectDir, "Pulumi."+o.ConfigFrom+".yaml")
	if _, err := os.Stat(stackFile); err != nil {
		return nil, fmt.Errorf("stack %q: no stack file %s", o.Stack, stackFile)
	}
	workDir := o.ProjectDir
	if o.Isolated || o.ConfigFrom != o.Stack {
		dir, err := os.MkdirTemp("", "backstage-stack-")
		if err != nil {
			return nil, err
		}
		if err := copyFile(filepath.Join(o.ProjectDir, "Pulumi.yaml"), filepath.Join(dir, "Pulumi.yaml")); err != nil {
			return nil, err
		}
		if err := copyFile(stackFile, filepath.Join(dir, "Pulumi."+o.Stack+".yaml")); err != nil {
			return nil, err
		}
		workDir = dir
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	absState, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, err
	}

	env := map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + absState,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"PULUMI_CONFIG_PASSPHRASE": passphrase(o.ConfigFrom),
	}
	for k, v := range o.Env {
		env[k] = v
	}
	if env["PULUMI_CONFIG_PASSPHRASE"] == "" {
		return nil, fmt.Errorf("stack %q: set PULUMI_CONFIG_PASSPHRASE to the passphrase that encrypts its secrets", o.Stack)
	}
	ws, err := auto.NewLocalWorkspace(ctx, auto.Program(program.Run), auto.Pulumi(&cli{}),
		auto.WorkDir(workDir), auto.SecretsProvider("passphrase"), auto.EnvVars(env))
	if err != nil {
		return nil, fmt.Errorf("stack %q: %w", o.Stack, err)
	}
	var s auto.Stack
	if exists(checkpointPath(absState, o.Stack)) {
		s, err = auto.SelectStack(ctx, o.Stack, namedStack{ws})
	} else {
		s, err = auto.UpsertStack(ctx, o.Stack, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("stack %q: %w", o.Stack, err)
	}
	return &Stack{Stack: s, WorkDir: workDir, StateDir: absState}, nil
}

// WorkspaceEnv is the environment the workspace gives the CLI (backend, passphrase,
// KUBECONFIG), as NAME=value pairs to add to a command's.
func (s *Stack) WorkspaceEnv() []string {
	env := make([]string, 0, len(s.Workspace().GetEnvVars()))
	for name, value := range s.Workspace().GetEnvVars() {
		env = append(env, name+"="+value)
	}
	return env
}

// namedStack is the workspace of a stack the backend already holds. Selecting it would
// only record it as the default for commands that name none, a CLI process per run;
// every command the workspace runs names its stack (--stack).
type namedStack struct{ auto.Workspace }

func (namedStack) SelectStack(context.Context, string) error { return nil }

func passphrase(configFrom string) string {
	if p := os.Getenv("PULUMI_CONFIG_PASSPHRASE"); p != "" {
		return p
	}
	if slices.Contains(localStacks, configFrom) {
		return LocalPassphrase
	}
	return ""
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}
