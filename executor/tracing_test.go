package executor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/warden-go/warden/actors/breaker"
)

// tracing returns a tracer provider that records every span, and the
// recorder.
func tracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	return tp, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

func eventAttrs(e sdktrace.Event) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range e.Attributes {
		m[a.Key] = a.Value
	}
	return m
}

// A job gets one span, a child of the caller's and the parent of what fn
// starts, with a retry event per retry and its attempts.
func TestTracingOneSpanPerJobWithItsRetries(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tp, rec := tracing(t)
		ex := start(t, WithTracerProvider(tp), WithDependency("db", fast()))
		ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
		var inFn []trace.SpanContext
		v, err := Do(ctx, ex, "db", func(ctx context.Context) (int, error) {
			inFn = append(inFn, trace.SpanContextFromContext(ctx))
			if len(inFn) == 1 {
				return 0, errBoom
			}
			return 7, nil
		}, Operation("select"))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		caller.End()

		spans := rec.Ended()
		require.Len(t, spans, 2, "the job's and the caller's")
		job := spans[0]
		assert.Equal(t, "warden db", job.Name())
		assert.Equal(t, trace.SpanKindInternal, job.SpanKind())
		assert.Equal(t, caller.SpanContext().SpanID(), job.Parent().SpanID(), "a child of the caller's span")
		for _, sc := range inFn {
			assert.Equal(t, job.SpanContext().SpanID(), sc.SpanID(), "fn runs in the job's span")
		}
		a := attrs(job)
		assert.Equal(t, "db", a["dependency"].AsString())
		assert.Equal(t, "select", a["operation"].AsString())
		assert.Equal(t, int64(2), a["attempts"].AsInt64())
		assert.Equal(t, codes.Unset, job.Status().Code)
		require.Len(t, job.Events(), 1)
		e := job.Events()[0]
		assert.Equal(t, "warden.retry", e.Name)
		ea := eventAttrs(e)
		assert.Equal(t, int64(1), ea["attempt"].AsInt64())
		assert.Equal(t, "100ms", ea["delay"].AsString())
		assert.Equal(t, errBoom.Error(), ea["err"].AsString())
	})
}

// A failed job's span has the status Error and the outcome as its
// error.type; a timeout adds an event.
func TestTracingFailuresAndTimeouts(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tp, rec := tracing(t)
		p := fast()
		p.Timeout = time.Second
		ex := start(t, WithTracerProvider(tp), WithDependency("db", p))
		_, err := Do(context.Background(), ex, "db", func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
		require.ErrorIs(t, err, ErrTimeout)
		_, err = Do(context.Background(), ex, "db", func(context.Context) (int, error) { panic("bug") })
		require.ErrorIs(t, err, ErrPanic)

		spans := rec.Ended()
		require.Len(t, spans, 2)
		timedOut, panicked := spans[0], spans[1]
		assert.Equal(t, codes.Error, timedOut.Status().Code)
		assert.Equal(t, "timed_out", attrs(timedOut)["error.type"].AsString())
		assert.Equal(t, int64(1), attrs(timedOut)["attempts"].AsInt64())
		var names []string
		for _, e := range timedOut.Events() {
			names = append(names, e.Name)
		}
		assert.Equal(t, []string{"warden.timeout", "exception"}, names)
		assert.Equal(t, codes.Error, panicked.Status().Code)
		assert.Equal(t, "panicked", attrs(panicked)["error.type"].AsString())
	})
}

// A call the open breaker turns away gets a span of its own with the
// warden.circuit_open event; so does one a full pool turns away.
func TestTracingRejections(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tp, rec := tracing(t)
		p := fast()
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Minute}
		ex := start(t, WithTracerProvider(tp), WithDependency("db", p))
		_, err := Do(context.Background(), ex, "db", fail)
		require.Error(t, err)
		synctest.Wait()
		for range 2 { // the first through the breaker's view, the second through the cached rejection
			_, err = Do(context.Background(), ex, "db", ok(1))
			require.ErrorIs(t, err, ErrCircuitOpen)
		}
		spans := rec.Ended()
		require.Len(t, spans, 3)
		for _, s := range spans[1:] {
			assert.Equal(t, "short_circuited", attrs(s)["error.type"].AsString())
			assert.Equal(t, int64(0), attrs(s)["attempts"].AsInt64())
			require.NotEmpty(t, s.Events())
			e := s.Events()[0]
			assert.Equal(t, "warden.circuit_open", e.Name)
			assert.Equal(t, int64(1), eventAttrs(e)["failures"].AsInt64())
			left, err := time.ParseDuration(eventAttrs(e)["retry_after"].AsString())
			require.NoError(t, err)
			assert.InDelta(t, 59.9, left.Seconds(), 1e-9, "the open minute, less the first job's 100 ms retry delay")
		}
	})
}

// Every span started is ended, also for jobs that shutdown answers.
func TestTracingEndsEverySpanAtShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tp, rec := tracing(t)
		p := fast()
		p.Retry.InitialDelay = time.Hour
		p.Timeout = 2 * time.Hour
		ex, err := New(WithTracerProvider(tp), WithDependency("db", p))
		require.NoError(t, err)
		f := Submit(context.Background(), ex, "db", fail)
		synctest.Wait()
		require.Equal(t, 1, pendingRetries(ex, "db"))
		stop(t, ex)
		_, err = f.Wait(context.Background())
		require.ErrorIs(t, err, ErrShutdown)
		require.Len(t, rec.Started(), 1)
		require.Len(t, rec.Ended(), 1)
		assert.Equal(t, codes.Error, rec.Ended()[0].Status().Code)
	})
}

// Without a tracer provider fn's context carries the caller's span.
func TestTracingOff(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tp, rec := tracing(t)
		ex := start(t, WithDependency("db", fast()))
		ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
		_, err := Do(ctx, ex, "db", func(ctx context.Context) (int, error) {
			assert.Equal(t, caller.SpanContext(), trace.SpanContextFromContext(ctx))
			return 1, nil
		})
		require.NoError(t, err)
		caller.End()
		assert.Len(t, rec.Ended(), 1, "the caller's alone")
	})
}

func pendingRetries(ex *Executor, dep string) int {
	st, _ := ex.Stats(dep)
	return st.PendingRetries
}
