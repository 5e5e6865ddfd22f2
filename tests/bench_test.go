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

// engineTimer records when the engine reported its summary.
type engineTimer struct {
	start time.Time
	done  chan time.Duration
}

func startEngineTimer() (*engineTimer, chan events.EngineEvent) {
	timer := &engineTimer{start: time.Now(), done: make(chan time.Duration, 1)}
	ch := make(chan events.EngineEvent)
	go func() {
		for ev := range ch {
			if ev.SummaryEvent != nil {
				timer.done <- time.Since(timer.start)
			}
		}
	}()
	return timer, ch
}

func (e *engineTimer) elapsed(b *testing.B) time.Duration {
	select {
	case d := <-e.done:
		return d
	case <-time.After(5 * time.Second):
		b.Fatal("the engine sent no summary event")
		return 0
	}
}

// engineMs accumulates engine times and reports their mean.
type engineMs struct{ total time.Duration }

func (m *engineMs) add(d time.Duration) { m.total += d }
func (m *engineMs) report(b *testing.B) {
	b.ReportMetric(float64(m.total.Milliseconds())/float64(b.N), "engine-ms")
}

func benchStack(b *testing.B) (*stackrun.Stack, context.Context) {
	requireControlPlane(b)
	resetNamespace(b)
	s := e2eStack(b, "bench")
	ctx := context.Background()
	b.Cleanup(func() {
		_, _ = s.Destroy(ctx)
		resetNamespace(b)
	})
	return s, ctx
}

func BenchmarkPreviewNoChanges(b *testing.B) {
	s, ctx := benchStack(b)
	_, err := s.Up(ctx)
	require.NoError(b, err)
	var engine engineMs
	b.ResetTimer()
	for range b.N {
		timer, ch := startEngineTimer()
		_, err := s.Preview(ctx, optpreview.EventStreams(ch))
		require.NoError(b, err)
		engine.add(timer.elapsed(b))
	}
	engine.report(b)
	reportPeakMemory(b)
}

func BenchmarkUpFromNothingToReady(b *testing.B) {
	s, ctx := benchStack(b)
	var engine engineMs
	for range b.N {
		b.StopTimer()
		_, err := s.Destroy(ctx)
		require.NoError(b, err)
		resetNamespace(b)
		b.StartTimer()
		timer, ch := startEngineTimer()
		_, err = s.Up(ctx, optup.EventStreams(ch))
		require.NoError(b, err)
		engine.add(timer.elapsed(b))
	}
	engine.report(b)
	reportPeakMemory(b)
}

func BenchmarkUpNoChanges(b *testing.B) {
	s, ctx := benchStack(b)
	_, err := s.Up(ctx)
	require.NoError(b, err)
	var engine engineMs
	b.ResetTimer()
	for range b.N {
		timer, ch := startEngineTimer()
		_, err := s.Up(ctx, optup.EventStreams(ch))
		require.NoError(b, err)
		engine.add(timer.elapsed(b))
	}
	engine.report(b)
	reportPeakMemory(b)
}

// An image bump is measured to the new pods running: `up` returns once the provider has
// seen the rollout complete.
func BenchmarkImageBumpRolledOut(b *testing.B) {
	s, ctx := benchStack(b)
	_, err := s.Up(ctx)
	require.NoError(b, err)
	var engine engineMs
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		image := fmt.Sprintf("ghcr.io/arhean/backstage:1.0.%d", i+1)
		require.NoError(b, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: image}))
		b.StartTimer()
		timer, ch := startEngineTimer()
		_, err := s.Up(ctx, optup.EventStreams(ch))
		require.NoError(b, err)
		engine.add(timer.elapsed(b))
	}
	engine.report(b)
	reportPeakMemory(b)
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
