package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"
)

type workflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Environment any               `yaml:"environment"`
		Env         map[string]string `yaml:"env"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var (
	pinnedAction     = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	stackCredential  = regexp.MustCompile(`secrets\.(KUBECONFIG\w*|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE)`)
	secretsFallback  = regexp.MustCompile(`secrets\.\w+\s*\|\|`)
	secretsReference = regexp.MustCompile(`secrets\.\w+`)
)

// workflowProblems is the delivery policy: what a security review of the workflows
// asks for, checked on one workflow file.
func workflowProblems(name string, data []byte, cliVersion string) []string {
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, name+": "+fmt.Sprintf(format, args...)) }
	if secretsFallback.Match(data) {
		add("a secret falls back to another with ||: a missing secret must fail, not switch clusters")
	}
	for k, v := range wf.Env {
		if secretsReference.MatchString(v) {
			add("workflow-level env %s holds a secret, which then reaches every step", k)
		}
	}
	for jobName, job := range wf.Jobs {
		raw, _ := yaml.Marshal(job)
		if job.Environment == nil && stackCredential.Match(raw) {
			add("job %s reads a stack credential without an environment:, so any branch could use it", jobName)
		}
		for k, v := range job.Env {
			if secretsReference.MatchString(v) {
				add("job %s: env %s holds a secret at job level; give it only to the step that needs it", jobName, k)
			}
		}
		prebuilt, checked := false, false
		for _, step := range job.Steps {
			if step.Uses == "./.github/actions/prebuilt-program" {
				prebuilt = true
			}
			if strings.Contains(step.Run, "hack/interrupted.sh") || strings.Contains(step.Run, "hack/recover-stack.sh") {
				checked = true
			}
			writesState := step.With["command"] == "up" || fmt.Sprint(step.With["refresh"]) == "true"
			if strings.HasPrefix(step.Uses, "pulumi/actions@") && writesState && !checked {
				add("job %s: pulumi/actions %v runs without hack/interrupted.sh first, so an interrupted deploy's lock or pending operations fail it with no pointer to the recover workflow", jobName, step.With["command"])
			}
			if strings.HasPrefix(step.Uses, "pulumi/actions@") && !prebuilt {
				add("job %s: pulumi/actions would compile and link the program again; use ./.github/actions/prebuilt-program first", jobName)
			}
			if step.Uses == "" || strings.HasPrefix(step.Uses, "./") {
				continue
			}
			if !pinnedAction.MatchString(step.Uses) {
				add("job %s: %s is not pinned by a full commit SHA", jobName, step.Uses)
			}
			if strings.HasPrefix(step.Uses, "actions/checkout@") && fmt.Sprint(step.With["persist-credentials"]) != "false" {
				add("job %s: checkout without persist-credentials: false leaves the token in .git/config", jobName)
			}
			if strings.HasPrefix(step.Uses, "pulumi/actions@") && fmt.Sprint(step.With["pulumi-version"]) != cliVersion {
				add("job %s: pulumi/actions installs %v, not the repository's CLI pin %s", jobName, step.With["pulumi-version"], cliVersion)
			}
		}
	}
	return problems
}

// Composite actions run with the job's permissions and secrets: their actions are
// pinned the same way.
func TestLocalActionsPinTheirActions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "actions", "*", "action.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var action struct {
			Runs struct {
				Steps []struct {
					Uses string `yaml:"uses"`
				} `yaml:"steps"`
			} `yaml:"runs"`
		}
		require.NoError(t, yaml.Unmarshal(data, &action))
		for _, step := range action.Runs.Steps {
			if step.Uses != "" {
				assert.Regexp(t, pinnedAction, step.Uses, "%s: pin by a full commit SHA", file)
			}
		}
	}
}

func cliPin(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "tools", "pulumi", "go.mod"))
	require.NoError(t, err)
	mod, err := modfile.Parse("go.mod", data, nil)
	require.NoError(t, err)
	for _, r := range mod.Require {
		if r.Mod.Path == "github.com/pulumi/pulumi/pkg/v3" {
			return strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	require.Fail(t, "tools/pulumi/go.mod pins no CLI")
	return ""
}

func TestWorkflowsPassTheDeliveryPolicy(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	version := cliPin(t)
	groups := map[string][]string{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		name := filepath.Base(file)
		assert.Empty(t, workflowProblems(name, data, version))
		groups[name] = concurrencyGroups(t, data)
	}
	require.NotEmpty(t, groups["deploy.yml"])
	require.NotEmpty(t, groups["drift.yml"])
	assert.Empty(t, shared(groups["deploy.yml"], groups["drift.yml"]),
		"a drift run in a deploy's concurrency group cancels the deploy pending there")
	assert.ElementsMatch(t, []string{"deploy-dev", "deploy-prod"}, groups["recover.yml"])
	assert.Subset(t, groups["deploy.yml"], groups["recover.yml"], "a recovery never runs beside a deploy of its stack")
}

// concurrencyGroups lists a workflow's job concurrency groups as they run, with each
// job's matrix stacks put in for ${{ matrix.stack }}.
func concurrencyGroups(t *testing.T, data []byte) []string {
	var wf struct {
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Stack   []string            `yaml:"stack"`
					Include []map[string]string `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Concurrency struct {
				Group string `yaml:"group"`
			} `yaml:"concurrency"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	var out []string
	for _, job := range wf.Jobs {
		stacks := job.Strategy.Matrix.Stack
		for _, inc := range job.Strategy.Matrix.Include {
			stacks = append(stacks, inc["stack"])
		}
		if len(stacks) == 0 {
			stacks = []string{""}
		}
		if strings.Contains(job.Concurrency.Group, "${{ inputs.stack }}") {
			stacks = []string{"dev", "prod"} // recover.yml's choices
		}
		for _, stack := range stacks {
			group := strings.ReplaceAll(job.Concurrency.Group, "${{ matrix.stack }}", stack)
			if group = strings.ReplaceAll(group, "${{ inputs.stack }}", stack); group != "" {
				out = append(out, group)
			}
		}
	}
	return out
}

func shared(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}

// The seed's drift workflow shared deploy's groups; the check sees it.
func TestConcurrencyCheckSeesDriftInADeployGroup(t *testing.T) {
	seedDrift := []byte(`
jobs:
  drift:
    strategy:
      matrix:
        stack: [dev, prod]
    concurrency:
      group: deploy-${{ matrix.stack }}
`)
	deploy := []byte(`
jobs:
  prod:
    concurrency:
      group: deploy-prod
`)
	assert.Equal(t, []string{"deploy-prod"}, shared(concurrencyGroups(t, deploy), concurrencyGroups(t, seedDrift)))
}

// The policy check can fail: the seed's own preview job breaks four of its rules.
func TestWorkflowPolicyRefusesTheOldPreviewJob(t *testing.T) {
	old := []byte(`
on: pull_request
jobs:
  preview:
    runs-on: ubuntu-24.04
    env:
      PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/kubeconfig
        with:
          data: ${{ secrets.KUBECONFIG_PROD || secrets.KUBECONFIG_DEV }}
      - uses: pulumi/actions@v6
        with:
          command: preview
  deploy:
    runs-on: ubuntu-24.04
    environment: development
    steps:
      - uses: ./.github/actions/prebuilt-program
      - uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d
        with:
          command: up
          pulumi-version: 3.274.1
`)
	problems := strings.Join(workflowProblems("old.yml", old, "3.274.1"), "\n")
	for _, want := range []string{"falls back", "without an environment", "holds a secret at job level",
		"actions/checkout@v4 is not pinned", "persist-credentials", "pulumi/actions@v6 is not pinned", "not the repository's CLI pin",
		"job deploy: pulumi/actions up runs without hack/interrupted.sh first"} {
		assert.Contains(t, problems, want)
	}
}

// The Kubernetes provider built in tools/ must be the release the program's SDK pins;
// `make bump-provider` finds the provider's pseudo-version for an SDK release.
func TestProviderPinMatchesTheSDK(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	mod, err := modfile.Parse("go.mod", data, nil)
	require.NoError(t, err)
	var sdk string
	for _, r := range mod.Require {
		if r.Mod.Path == "github.com/pulumi/pulumi-kubernetes/sdk/v4" {
			sdk = strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	env, err := os.ReadFile(filepath.Join(repoRoot, "tools", "versions.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "KUBERNETES_PROVIDER_VERSION="+sdk+"\n",
		"go.mod pins pulumi-kubernetes sdk %s; run `make bump-provider` so tools/versions.env builds the same provider release", sdk)
}

// Renovate's schema still accepts the deprecated fileMatch, so this checks what it does not:
// file patterns use managerFilePatterns with /regex/ strings, and actions stay SHA-pinned.
func TestRenovateUsesCurrentOptions(t *testing.T) {
	var cfg struct {
		Extends        []string         `json:"extends"`
		CustomManagers []map[string]any `json:"customManagers"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "renovate.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cfg))
	assert.NotContains(t, string(data), `"fileMatch"`)
	assert.Contains(t, cfg.Extends, "helpers:pinGitHubActionDigests")
	for _, m := range cfg.CustomManagers {
		patterns, ok := m["managerFilePatterns"].([]any)
		require.True(t, ok, "%v has no managerFilePatterns", m["description"])
		for _, p := range patterns {
			s := fmt.Sprint(p)
			assert.True(t, strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/"), "%q is not a /regex/ string", s)
		}
	}
}

// Renovate finds every version the program pins: each quoted value in the pins file is
// the currentValue of some custom manager that reads that file. A pin renamed or moved
// without its manager would otherwise go stale silently.
func TestRenovateFindsEveryPin(t *testing.T) {
	var cfg struct {
		CustomManagers []struct {
			Files        []string `json:"managerFilePatterns"`
			MatchStrings []string `json:"matchStrings"`
		} `json:"customManagers"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "renovate.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cfg))
	const pinsFile = "components/pins/pins.go"
	source, err := os.ReadFile(filepath.Join(repoRoot, pinsFile))
	require.NoError(t, err)

	found := map[string]bool{}
	for _, m := range cfg.CustomManagers {
		reads := false
		for _, f := range m.Files {
			reads = reads || regexp.MustCompile(strings.Trim(f, "/")).MatchString(pinsFile)
		}
		if !reads {
			continue
		}
		for _, s := range m.MatchStrings {
			re := regexp.MustCompile(s)
			for _, match := range re.FindAllStringSubmatch(string(source), -1) {
				found[match[re.SubexpIndex("currentValue")]] = true
			}
		}
	}
	pinned := regexp.MustCompile(`(?m)^\s*\w+\s*=\s*"(?:[a-z0-9./_-]+:)?([^"]+)"`).FindAllStringSubmatch(string(source), -1)
	require.NotEmpty(t, pinned)
	for _, p := range pinned {
		assert.True(t, found[p[1]], "%s pins %q, which no Renovate manager reads", pinsFile, p[0])
	}
}
