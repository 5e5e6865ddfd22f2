package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/components/pins"
)

type workflowStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type workflowJob struct {
	If          string            `yaml:"if"`
	Needs       any               `yaml:"needs"`
	Environment any               `yaml:"environment"`
	Permissions any               `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Steps       []workflowStep    `yaml:"steps"`
}

type workflow struct {
	On   any                    `yaml:"on"`
	Env  map[string]string      `yaml:"env"`
	Jobs map[string]workflowJob `yaml:"jobs"`
}

var (
	pinnedAction     = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	stackCredential  = regexp.MustCompile(`secrets\.(KUBECONFIG\w*|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE)`)
	secretsFallback  = regexp.MustCompile(`secrets\.\w+\s*\|\|`)
	secretsReference = regexp.MustCompile(`secrets\.\w+`)
	pinComment       = regexp.MustCompile(`(?m)uses:\s*([\w.-]+/[\w.-]+)@[0-9a-f]{40}\s*#\s*v(\d+)`)
)

// node24Majors are the first majors of the actions the workflows use that run on
// Node 24; GitHub retires Node 20 on its runners.
var node24Majors = map[string]int{
	"actions/checkout": 5, "actions/setup-go": 6, "actions/upload-artifact": 6, "actions/download-artifact": 7,
}

// permission is a job's permission for scope ("" when not granted).
func (j workflowJob) permission(scope string) string {
	perms, _ := j.Permissions.(map[string]any)
	v, _ := perms[scope].(string)
	return v
}

// environmentName is the job's environment, whether given as a string or a map.
func (j workflowJob) environmentName() string {
	switch env := j.Environment.(type) {
	case string:
		return env
	case map[string]any:
		name, _ := env["name"].(string)
		return name
	}
	return ""
}

func (j workflowJob) needs(job string) bool {
	switch needs := j.Needs.(type) {
	case string:
		return needs == job
	case []any:
		for _, n := range needs {
			if n == job {
				return true
			}
		}
	}
	return false
}

// runsBranchCode says whether a job runs code from the checked-out commit.
func (j workflowJob) runsBranchCode() bool {
	for _, step := range j.Steps {
		if strings.HasPrefix(step.Uses, "actions/checkout@") {
			return true
		}
	}
	return false
}

// triggers are the workflow's events with their filters, whichever of the three forms
// on: takes (an event, a list of events, a map of events).
func (wf workflow) triggers() map[string]any {
	switch on := wf.On.(type) {
	case string:
		return map[string]any{on: nil}
	case []any:
		out := map[string]any{}
		for _, event := range on {
			out[fmt.Sprint(event)] = nil
		}
		return out
	case map[string]any:
		return on
	}
	return nil
}

func (wf workflow) triggeredBy(event string) bool {
	_, ok := wf.triggers()[event]
	return ok
}

// pathFiltered says whether a trigger runs only for some paths.
func (wf workflow) pathFiltered(event string) bool {
	filter, _ := wf.triggers()[event].(map[string]any)
	_, paths := filter["paths"]
	_, ignore := filter["paths-ignore"]
	return paths || ignore
}

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
	if strings.Contains(string(data), "kube-score@") {
		add("kube-score is pinned here; install it at tools/lint's pin (go -C tools/lint install), the one make lint uses")
	}
	problems = append(problems, oldNodeMajors(name, data)...)
	for k, v := range wf.Env {
		if secretsReference.MatchString(v) {
			add("workflow-level env %s holds a secret, which then reaches every step", k)
		}
	}
	pullRequest := wf.triggeredBy("pull_request") || wf.triggeredBy("pull_request_target")
	for jobName, job := range wf.Jobs {
		raw, _ := yaml.Marshal(job)
		environment := job.environmentName()
		if job.Environment == nil && stackCredential.Match(raw) {
			add("job %s reads a stack credential without an environment:, so any branch could use it", jobName)
		}
		if pullRequest && job.Environment != nil {
			if !strings.HasSuffix(environment, "-preview") {
				add("job %s runs branch code in environment %q; a pull request previews with a *-preview environment's read-and-dry-run identity (docs/rbac/preview-identity.yaml)", jobName, environment)
			}
			if !strings.Contains(job.If, "github.event.pull_request.head.repo.full_name == github.repository") {
				add("job %s needs environment secrets, which a fork's pull request never gets; skip forks with if: github.event.pull_request.head.repo.full_name == github.repository, and say so in a job of their own", jobName)
			}
		}
		if job.runsBranchCode() {
			for _, scope := range []string{"pull-requests", "issues", "contents", "actions", "checks", "statuses", "deployments", "packages"} {
				if job.permission(scope) == "write" && (pullRequest || scope == "pull-requests") {
					add("job %s runs the checked-out code with %s: write; the language host passes the token to the program, so a job that runs no branch code must write instead", jobName, scope)
				}
			}
		}
		for k, v := range job.Env {
			if secretsReference.MatchString(v) {
				add("job %s: env %s holds a secret at job level; give it only to the step that needs it", jobName, k)
			}
		}
		awaitsApproval := strings.Contains(environment, "production") && !strings.Contains(environment, "preview")
		prebuilt, checked, credentials, stackStep := false, false, false, false
		for _, step := range job.Steps {
			if step.Uses == "./.github/actions/prebuilt-program" {
				prebuilt = true
				if awaitsApproval && fmt.Sprint(step.With["build"]) != "true" {
					add("job %s waits for the production approval (up to 30 days) and then downloads the program's artifact, which may have expired; build it again with build: \"true\" and expect-digest", jobName)
				}
			}
			if strings.HasPrefix(step.Uses, "actions/download-artifact@") && awaitsApproval {
				add("job %s waits for the production approval (up to 30 days) and then downloads an artifact, which may have expired", jobName)
			}
			if step.Uses == "./.github/actions/cloud-credentials" {
				credentials = true
			}
			if step.Uses == "./.github/actions/stack" {
				stackStep = true
			}
			if strings.Contains(step.Run, "hack/interrupted.sh") || strings.Contains(step.Run, "hack/recover-stack.sh") {
				checked = true
			}
			for k, v := range step.Env {
				if k == "STACK" && strings.Contains(v, "vars.PULUMI_ORG") {
					add("job %s: STACK is built from PULUMI_ORG; a self-managed backend accepts only organization/<stack> (use ./.github/actions/stack)", jobName)
				}
			}
			pulumiCommand := strings.HasPrefix(step.Uses, "pulumi/actions@") && step.With["command"] != nil
			if pulumiCommand {
				if stackName := fmt.Sprint(step.With["stack-name"]); stackName != "${{ steps.stack.outputs.name }}" || !stackStep {
					add("job %s: stack-name %s; the name depends on the backend (a self-managed one accepts only organization/<stack>): use ${{ steps.stack.outputs.name }} from ./.github/actions/stack", jobName, stackName)
				}
				if !credentials || job.permission("id-token") != "write" {
					add("job %s: pulumi/actions %v runs without ./.github/actions/cloud-credentials and id-token: write, so a self-managed backend (s3://, gs://) and its KMS cannot be reached", jobName, step.With["command"])
				}
				if step.With["command"] == "preview" && !pullRequest && fmt.Sprint(step.With["comment-on-summary"]) != "true" {
					add("job %s: a preview outside a pull request is read in the run's summary: comment-on-summary: true", jobName)
				}
				if step.With["command"] == "preview" && pullRequest && fmt.Sprint(step.With["comment-on-pr"]) == "true" {
					add("job %s: comment-on-pr needs a token that can write to the pull request in the job that runs branch code; post the comment from a job that runs none", jobName)
				}
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

// oldNodeMajors lists the pinned actions of a file that are on a major before Node 24.
func oldNodeMajors(name string, data []byte) []string {
	var out []string
	for _, m := range pinComment.FindAllStringSubmatch(string(data), -1) {
		major, _ := strconv.Atoi(m[2])
		if first, ok := node24Majors[m[1]]; ok && major < first {
			out = append(out, fmt.Sprintf("%s: %s v%d runs on Node 20; v%d and later run on Node 24", name, m[1], major, first))
		}
	}
	return out
}

// deliveryProblems is the policy across the workflows: what no single file shows.
func deliveryProblems(files map[string][]byte) []string {
	var problems []string
	testedOnEveryPullRequest := false
	for name, data := range files {
		var wf workflow
		if err := yaml.Unmarshal(data, &wf); err != nil {
			continue
		}
		for jobName, job := range wf.Jobs {
			runsTests := false
			for _, step := range job.Steps {
				runsTests = runsTests || strings.Contains(step.Run, "go test -count=1 ./...")
			}
			if !runsTests || !wf.triggeredBy("pull_request") {
				continue
			}
			if wf.pathFiltered("pull_request") {
				problems = append(problems, fmt.Sprintf("%s: job %s runs the tests only for the paths of its pull_request filter; a pull request touching Pulumi.prod.yaml, tests/ or hack/ would run no CI", name, jobName))
			} else if job.Environment == nil && job.If == "" {
				testedOnEveryPullRequest = true
			}
		}
		if wf.triggeredBy("push") && strings.Contains(string(data), "group: deploy-") && !wf.triggeredBy("workflow_dispatch") {
			problems = append(problems, name+": deploys on push only; GitHub keeps one pending job per concurrency group, so a recovery or a newer run can cancel a pending deploy: add workflow_dispatch to deploy main again")
		}
		if wf.triggeredBy("schedule") && refreshes(wf) && !waitsForDeploys(wf) {
			problems = append(problems, name+": a scheduled refresh runs whatever a deploy is doing; its jobs need a job that finds running or waiting deploy.yml runs (gh run list) and skip on it")
		}
	}
	if !testedOnEveryPullRequest {
		problems = append(problems, "no workflow runs go test on every pull request, whatever it touches, without an environment")
	}
	return problems
}

func refreshes(wf workflow) bool {
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			if strings.HasPrefix(step.Uses, "pulumi/actions@") && fmt.Sprint(step.With["refresh"]) == "true" {
				return true
			}
		}
	}
	return false
}

// waitsForDeploys: each job that refreshes needs a job that lists deploy.yml's running
// runs and is skipped on its output.
func waitsForDeploys(wf workflow) bool {
	for _, job := range wf.Jobs {
		if !refreshes(workflow{Jobs: map[string]workflowJob{"": job}}) {
			continue
		}
		guarded := false
		for name, other := range wf.Jobs {
			lists := false
			for _, step := range other.Steps {
				lists = lists || (strings.Contains(step.Run, "gh run list") && strings.Contains(step.Run, "deploy.yml"))
			}
			guarded = guarded || (lists && job.needs(name) && strings.Contains(job.If, "needs."+name+".outputs"))
		}
		if !guarded {
			return false
		}
	}
	return true
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
		assert.Empty(t, oldNodeMajors(file, data))
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
	all := map[string][]byte{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		name := filepath.Base(file)
		assert.Empty(t, workflowProblems(name, data, version))
		groups[name] = concurrencyGroups(t, data)
		all[name] = data
	}
	assert.Empty(t, deliveryProblems(all))
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
	sdk := strings.TrimPrefix(requiredVersion(t, "go.mod", "github.com/pulumi/pulumi-kubernetes/sdk/v4"), "v")
	env, err := os.ReadFile(filepath.Join(repoRoot, "tools", "versions.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "KUBERNETES_PROVIDER_VERSION="+sdk+"\n",
		"go.mod pins pulumi-kubernetes sdk %s; run `make bump-provider` so tools/versions.env builds the same provider release", sdk)
}

// The rclone the tests and the real node run (tools/rclone) is the one the dump Jobs'
// image carries: Renovate moves the two in one pull request (its rclone group), and this
// fails a pull request that moves only one.
func TestRcloneToolMatchesTheImagePin(t *testing.T) {
	ref, err := reference.ParseNormalizedNamed(pins.RcloneImage)
	require.NoError(t, err)
	tagged, ok := ref.(reference.Tagged)
	require.True(t, ok, "pins.RcloneImage names a release by its tag: %s", pins.RcloneImage)
	assert.Equal(t, "v"+tagged.Tag(), requiredVersion(t, "tools/rclone/go.mod", "github.com/rclone/rclone"),
		"pins.RcloneImage is %s; tools/rclone/go.mod must build that release", pins.RcloneImage)
}

// requiredVersion is the version a go.mod of the repository requires of a module.
func requiredVersion(t *testing.T, file, module string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	require.NoError(t, err)
	mod, err := modfile.Parse(file, data, nil)
	require.NoError(t, err)
	for _, r := range mod.Require {
		if r.Mod.Path == module {
			return r.Mod.Version
		}
	}
	t.Fatalf("%s requires no %s", file, module)
	return ""
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

// Each rule #26 added fails on the workflows as they were before it
// (testdata/workflows-before-26), for the reason it names.
func TestDeliveryPolicyRefusesTheWorkflowsBeforeIt(t *testing.T) {
	dir := filepath.Join(repoRoot, "tests", "testdata", "workflows-before-26")
	all := map[string][]byte{}
	var problems []string
	for _, name := range []string{"deploy.yml", "drift.yml", "preview.yml", "recover.yml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		all[name] = data
		problems = append(problems, workflowProblems(name, data, "3.274.1")...)
	}
	action, err := os.ReadFile(filepath.Join(dir, "prebuilt-program-action.yml"))
	require.NoError(t, err)
	problems = append(problems, oldNodeMajors("prebuilt-program", action)...)
	problems = append(problems, deliveryProblems(all)...)
	text := strings.Join(problems, "\n")
	for _, want := range []string{
		// 1. an approval that outlives the artifact
		"deploy.yml: job prod waits for the production approval (up to 30 days) and then downloads the program's artifact",
		"recover.yml: job recover waits for the production approval",
		// 2. self-managed backends: the organisation and the cloud credentials
		"deploy.yml: job dev: stack-name ${{ vars.PULUMI_ORG }}/dev; the name depends on the backend",
		"deploy.yml: job dev: STACK is built from PULUMI_ORG",
		"deploy.yml: job prod: pulumi/actions up runs without ./.github/actions/cloud-credentials and id-token: write",
		// 4. CI on every pull request
		"preview.yml: job test runs the tests only for the paths of its pull_request filter",
		"no workflow runs go test on every pull request",
		// 5. branch code's identity and token
		`preview.yml: job preview-dev runs branch code in environment "development"`,
		"preview.yml: job preview-dev needs environment secrets, which a fork's pull request never gets",
		"preview.yml: job preview-dev runs the checked-out code with pull-requests: write",
		"preview.yml: job preview-dev: comment-on-pr needs a token that can write",
		// 6. the smaller ones
		"deploy.yml: deploys on push only",
		"deploy.yml: job prod-preview: a preview outside a pull request is read in the run's summary",
		"drift.yml: a scheduled refresh runs whatever a deploy is doing",
		"preview.yml: kube-score is pinned here",
		"deploy.yml: actions/upload-artifact v5 runs on Node 20",
		"prebuilt-program: actions/download-artifact v5 runs on Node 20",
	} {
		assert.Contains(t, text, want)
	}
}
