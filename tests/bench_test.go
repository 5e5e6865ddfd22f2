//go:build e2e

package tests

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

// The benchmarks time the engine operations users wait for, on the local control plane
// (`make bench`). ns/op is the whole Automation API call, which after the engine also
// runs `pulumi stack output` twice and `pulumi stack history`; engine-ms is from the
// call to the engine's summary event, which is what `pulumi up` (or `helm upgrade`)
// makes a user wait for.

// timeEngine runs op b.N times, each after prepare (outside the timer), and reports the
// mean time from the call to the engine's summary event as engine-ms, then peak memory.
func timeEngine(b *testing.B, prepare func(i int), op func(ch chan<- events.EngineEvent) error) {
	var engineTotal time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		prepare(i)
		b.StartTimer()
		start := time.Now()
		summary := make(chan time.Duration, 1)
		ch := make(chan events.EngineEvent)
		go func() {
			for ev := range ch {
				if ev.SummaryEvent != nil {
					summary <- time.Since(start)
				}
			}
		}()
		require.NoError(b, op(ch))
		select {
		case d := <-summary:
			engineTotal += d
		case <-time.After(5 * time.Second):
			b.Fatal("the engine sent no summary event")
		}
	}
	b.ReportMetric(float64(engineTotal.Milliseconds())/float64(b.N), "engine-ms")
	reportPeakMemory(b)
}

func benchStack(b *testing.B, deployed bool) (*stackrun.Stack, context.Context) {
	requireControlPlane(b)
	resetNamespace(b)
	s := e2eStack(b, "bench")
	ctx := context.Background()
	b.Cleanup(func() {
		_, _ = s.Destroy(ctx)
		resetNamespace(b)
	})
	if deployed {
		_, err := s.Up(ctx)
		require.NoError(b, err)
	}
	return s, ctx
}

func noPreparation(int) {}

func BenchmarkPreviewNoChanges(b *testing.B) {
	s, ctx := benchStack(b, true)
	timeEngine(b, noPreparation, func(ch chan<- events.EngineEvent) error {
		_, err := s.Preview(ctx, optpreview.EventStreams(ch))
		return err
	})
}

func BenchmarkUpFromNothingToReady(b *testing.B) {
	s, ctx := benchStack(b, false)
	timeEngine(b, func(int) {
		_, err := s.Destroy(ctx)
		require.NoError(b, err)
		resetNamespace(b)
	}, func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
}

func BenchmarkUpNoChanges(b *testing.B) {
	s, ctx := benchStack(b, true)
	timeEngine(b, noPreparation, func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
}

// An image bump is measured to the new pods running: `up` returns once the provider has
// seen the rollout complete.
func BenchmarkImageBumpRolledOut(b *testing.B) {
	s, ctx := benchStack(b, true)
	timeEngine(b, func(i int) {
		image := fmt.Sprintf("ghcr.io/arhean/backstage:1.0.%d", i+1)
		require.NoError(b, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: image}))
	}, func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
}

// reportPeakMemory reports the peak resident memory of this process (the program runs
// in it, inline) and of its largest child (the engine or the provider).
func reportPeakMemory(b *testing.B) {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		b.ReportMetric(float64(self.Maxrss)/1024, "program-peak-MiB")
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) == nil {
		b.ReportMetric(float64(children.Maxrss)/1024, "engine-peak-MiB")
	}
}
