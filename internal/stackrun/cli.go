package stackrun

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// cli is the Pulumi CLI on PATH as the Automation API's workspace runs it. The SDK's
// own (auto.NewPulumiCommand) runs `pulumi version` whenever it is made, a CLI process
// on every run of the driver (0.16 s here), although only the operations that tail
// the engine's event log read the version; cli asks the CLI once, when first asked.
type cli struct {
	once    sync.Once
	version semver.Version
}

var _ auto.PulumiCommand = (*cli)(nil)

// Run runs the CLI as the SDK's command does: never interactive, in its own process
// group, interrupted (as Ctrl-C would) when ctx ends and killed 10 s later.
func (c *cli) Run(ctx context.Context, workdir string, stdin io.Reader, additionalOutput, additionalErrorOutput []io.Writer,
	additionalEnv []string, args ...string,
) (string, string, int, error) {
	if !slices.Contains(args, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, "pulumi", args...)
	cmd.Dir = workdir
	cmd.Env = append(append(os.Environ(), additionalEnv...), "PULUMI_AUTOMATION_API=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	code := -2 // the SDK's code for a CLI that did not run
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err == nil {
		code = 0
	}
	return stdout.String(), stderr.String(), code, err
}

// Version is the CLI's version, or the zero version when `pulumi version` fails (the
// SDK then takes its oldest code paths, which every CLI still serves).
func (c *cli) Version() semver.Version {
	c.once.Do(func() {
		out, err := exec.Command("pulumi", "version").Output()
		if err != nil {
			return
		}
		if v, err := semver.ParseTolerant(strings.TrimSpace(string(out))); err == nil {
			c.version = v
		}
	})
	return c.version
}
