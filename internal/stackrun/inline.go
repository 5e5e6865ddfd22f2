package stackrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The driver's preview and up run one CLI process each: `pulumi preview|up` with the
// program served from this process, as auto.Stack's methods do. Those methods also
// read the outputs twice and the history once after an up (three CLI processes, two
// of which derive the passphrase's key: 0.8 s of a 2 s no-op here), for what the CLI's
// own progress has already printed. The tests keep auto.Stack's methods, whose results
// they read.

// CLIUp runs `pulumi up` (no preview first), streaming the CLI's progress to out; the
// error carries what the CLI wrote to its standard error. After an up that did not
// finish it refreshes first.
func (s *Stack) CLIUp(ctx context.Context, out io.Writer, args ...string) error {
	args = s.refreshIfUnfinished(out, append([]string{"up", "--yes", "--skip-preview"}, args...))
	// Marked before it starts, so that a driver killed with it leaves the mark too.
	marked := exists(s.unfinishedUpMark())
	if err := s.markUpUnfinished(); err != nil {
		return err
	}
	if err := s.runProgram(ctx, out, args); err != nil {
		// A program that refused its configuration registered nothing, so this up
		// applied nothing and the next run need not refresh: unless an earlier up left
		// the mark, which stays until an up finishes.
		if !marked && errors.Is(err, errNothingRegistered) {
			return errors.Join(err, s.clearUnfinishedUp())
		}
		return err
	}
	return s.clearUnfinishedUp()
}

// errNothingRegistered marks the error of a run whose program stopped before it
// registered any resource.
var errNothingRegistered = errors.New("the program registered nothing")

// nothingRegistered is implemented by a program error that says so
// (config.RefusedError): stackrun does not import the program's packages' errors.
type nothingRegistered interface{ NothingRegistered() bool }

// CLIPreview runs `pulumi preview`, streaming its progress to out; the error carries
// what the CLI wrote to its standard error. After an up that did not finish it
// refreshes first, so that it shows what the next up will do.
func (s *Stack) CLIPreview(ctx context.Context, out io.Writer, args ...string) error {
	return s.runProgram(ctx, out, s.refreshIfUnfinished(out, append([]string{"preview"}, args...)))
}

func (s *Stack) runProgram(ctx context.Context, out io.Writer, args []string) error {
	host, err := serveProgram(s.Workspace().Program())
	if err != nil {
		return err
	}
	// How the server stopped says nothing about the operation, which the CLI's exit
	// code decides (the SDK ignores it too).
	defer func() { _ = host.close() }()

	args = append(args, "--client="+host.address, "--exec-kind=auto.inline", "--stack", s.Name())
	_, stderr, code, err := s.Workspace().PulumiCommand().Run(ctx, s.WorkDir, nil, []io.Writer{out}, nil, s.WorkspaceEnv(), args...)
	if err != nil {
		detail := strings.TrimSpace(stderr)
		if detail == "" {
			detail = "its diagnostics are above"
		}
		err = fmt.Errorf("pulumi %s of stack %s failed (exit code %d): %s", args[0], s.Name(), code, detail)
		if host.refusedEarly.Load() {
			err = fmt.Errorf("%w (%w)", err, errNothingRegistered)
		}
		return err
	}
	return nil
}

// programHost is the language host the engine reaches through the CLI's --client flag:
// it runs the program in this process. The SDK's own is unexported.
type programHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	program pulumi.RunFunc
	address string
	// refusedEarly is set when the program's error says it registered nothing.
	refusedEarly atomic.Bool
	cancel       chan bool
	done         <-chan error
}

func serveProgram(program pulumi.RunFunc) (*programHost, error) {
	if program == nil {
		return nil, errors.New("the workspace has no inline program")
	}
	h := &programHost{program: program, cancel: make(chan bool)}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: h.cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	h.address, h.done = fmt.Sprintf("127.0.0.1:%d", handle.Port), handle.Done
	return h, nil
}

// close stops serving once the CLI has exited, and says how the server stopped.
func (h *programHost) close() error {
	close(h.cancel)
	return <-h.done
}

func (h *programHost) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *programHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "1.0.0"}, nil
}

func (h *programHost) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

// Run runs the program against the engine's resource monitor. A program error is the
// response's, as a language host reports it; a panic is turned into one.
func (h *programHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	var engine string
	if len(req.GetArgs()) > 0 {
		engine = req.GetArgs()[0]
	}
	pctx, err := pulumi.NewContext(ctx, pulumi.RunInfo{
		EngineAddr:       engine,
		MonitorAddr:      req.GetMonitorAddress(),
		Config:           req.GetConfig(),
		ConfigSecretKeys: req.GetConfigSecretKeys(),
		Project:          req.GetProject(),
		Stack:            req.GetStack(),
		Parallel:         req.GetParallel(),
		DryRun:           req.GetDryRun(),
		Organization:     req.GetOrganization(),
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = pctx.Close() }()
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("the program panicked: %v", r)
			}
		}()
		return pulumi.RunWithContext(pctx, h.program)
	}()
	if err != nil {
		var early nothingRegistered
		h.refusedEarly.Store(errors.As(err, &early) && early.NothingRegistered())
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
