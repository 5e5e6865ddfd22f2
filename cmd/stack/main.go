// Command stack runs the Backstage program under the real Pulumi engine (Automation
// API, inline program) with a local file backend: what `make preview|up|destroy|render`
// call. Users with the official Pulumi CLI run `pulumi up -s <stack>` instead.
//
//	stack [-s local] [-state DIR] preview [-expect-no-changes]
//	stack [-s local] [-state DIR] up
//	stack [-s local] [-state DIR] destroy
//	stack [-s local] [-state DIR] render -out DIR
//	stack [-s local] [-state DIR] output NAME
//	stack [-s prod] bump <registry>/<repository>:<tag>
//	stack [-s dev] [-state DIR] migrate-charts
//	stack [-s local] [-state DIR] recover   (FORCE=1 clears a lock whose holder may live)
//	stack [-s local] [-state DIR] maintenance on|off   (sets or removes backstage:maintenance, then up)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/config"
	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

const usage = "usage: stack [-s STACK] [-state DIR] preview [-expect-no-changes] | up | destroy | render [-out DIR] | output NAME | bump IMAGE | migrate-charts | recover | maintenance on|off"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run() error {
	stackName := flag.String("s", "local", "the stack, whose config is Pulumi.<stack>.yaml")
	stateDir := flag.String("state", ".pulumi-state", "the local backend's folder")
	flag.Parse()
	if flag.NArg() < 1 {
		return errors.New(usage)
	}
	command, rest := flag.Arg(0), flag.Args()[1:]

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	projectDir, err := os.Getwd()
	if err != nil {
		return err
	}
	opts := stackrun.Options{Stack: *stackName, ProjectDir: projectDir, StateDir: *stateDir}

	switch command {
	case "preview":
		fs := flag.NewFlagSet("preview", flag.ExitOnError)
		expectNoChanges := fs.Bool("expect-no-changes", false, "refresh from the cluster first and fail on any change (drift)")
		_ = fs.Parse(rest)
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		args := []string{"--diff"}
		if *expectNoChanges {
			// Without a refresh, a preview compares the code with the state only and
			// would miss changes made in the cluster.
			args = append(args, "--refresh", "--expect-no-changes")
		}
		return s.CLIPreview(ctx, os.Stdout, args...)
	case "up":
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		interrupted, err := s.Interrupted()
		if err != nil {
			return err
		}
		if interrupted != "" {
			if os.Getenv("RECOVER") == "" {
				return fmt.Errorf("%s: an earlier deploy was interrupted; run `make recover STACK=%s` (or `make up RECOVER=1`)", interrupted, *stackName)
			}
			if err := s.Recover(ctx, os.Getenv("FORCE") != "", os.Stdout); err != nil {
				return err
			}
		}
		// The CLI's progress ends with the stack's outputs, secrets masked.
		return s.CLIUp(ctx, os.Stdout)
	case "destroy":
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		_, err = s.Destroy(ctx, optdestroy.ProgressStreams(os.Stdout))
		return err
	case "output":
		if len(rest) != 1 {
			return errors.New("usage: stack -s STACK output NAME")
		}
		value, err := stackrun.PlainOutput(*stateDir, *stackName, rest[0])
		if err != nil {
			return err
		}
		fmt.Println(value)
		return nil
	case "bump":
		if len(rest) != 1 {
			return errors.New("usage: stack -s STACK bump <registry>/<repository>:<tag>")
		}
		return bump(projectDir, *stackName, rest[0])
	case "recover":
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		return s.Recover(ctx, os.Getenv("FORCE") != "", os.Stdout)
	case "maintenance":
		// make restore's stop and start: the stack file says maintenance while Backstage
		// is stopped, so a deploy in between keeps it stopped.
		if len(rest) != 1 || (rest[0] != "on" && rest[0] != "off") {
			return errors.New("usage: stack -s STACK maintenance on|off")
		}
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		key := config.KeyMaintenance.FullName()
		if rest[0] == "on" {
			err = s.SetConfig(ctx, key, auto.ConfigValue{Value: "true"})
		} else {
			err = s.RemoveConfig(ctx, key)
		}
		if err != nil {
			return err
		}
		return s.CLIUp(ctx, os.Stdout)
	case "migrate-charts":
		s, err := stackrun.Select(ctx, opts)
		if err != nil {
			return err
		}
		removed, res, err := stackrun.MoveReleasesToCharts(ctx, s.Stack, optup.ProgressStreams(os.Stdout))
		for _, urn := range removed {
			fmt.Println("forgot (the cluster untouched):", urn)
		}
		if err != nil {
			return err
		}
		if res == nil {
			fmt.Println("no Helm Release in the state: nothing to migrate")
			return nil
		}
		fmt.Println("the Charts own the objects now; Helm's release records can go:")
		fmt.Println("  kubectl delete secret -A -l owner=helm,name=ingress-nginx; kubectl delete secret -A -l owner=helm,name=cert-manager")
		return nil
	case "render":
		fs := flag.NewFlagSet("render", flag.ExitOnError)
		out := fs.String("out", "out/"+*stackName, "the folder to write the manifests to")
		_ = fs.Parse(rest)
		return render(ctx, opts, *out)
	}
	return fmt.Errorf("unknown command %q; %s", command, usage)
}

// render writes the stack's manifests with the provider's renderYamlToDirectory, from a
// stack of its own so that neither the stack file nor the real stack's state changes.
func render(ctx context.Context, opts stackrun.Options, out string) error {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(absOut); err != nil {
		return err
	}
	renderState, err := os.MkdirTemp("", "backstage-render-state-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(renderState) }()
	opts.ConfigFrom, opts.Stack, opts.StateDir, opts.Isolated = opts.Stack, opts.Stack+"-render", renderState, true
	s, err := stackrun.Select(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(s.WorkDir) }()
	if err := s.SetConfig(ctx, config.KeyRenderYAMLToDirectory.FullName(), auto.ConfigValue{Value: absOut}); err != nil {
		return err
	}
	if _, err := s.Up(ctx, optup.ProgressStreams(os.Stdout)); err != nil {
		return err
	}
	fmt.Printf("\nManifests written to %s.\nThey contain the stack's secrets in plain text (base64): never commit them.\n", absOut)
	return nil
}

// imageLine is the `backstage:image` line of a stack file: bump edits that one line,
// keeping the file's comments and layout, which rewriting it through the CLI drops.
var imageLine = regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(config.KeyImage.FullName()) + `:\s*).*$`)

// bump validates an image reference by the stack's own rules and writes it into
// Pulumi.<stack>.yaml: the one-line change a pull request then previews.
func bump(projectDir, stack, image string) error {
	file := filepath.Join(projectDir, "Pulumi."+stack+".yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var stackFile struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &stackFile); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	key := config.KeyImage.FullName()
	env, _ := stackFile.Config[config.KeyEnvironment.FullName()].(string)
	if err := config.CheckImage(image, config.Environment(env)); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if _, ok := stackFile.Config[key]; !ok || !imageLine.Match(data) {
		return fmt.Errorf("%s has no %s line; run `pulumi config set %s %s -s %s`", file, key, key, image, stack)
	}
	data = imageLine.ReplaceAll(data, []byte("${1}"+image))
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %s = %s\nCommit it and open a pull request; the preview shows the one Deployment update.\n", file, key, image)
	return nil
}
