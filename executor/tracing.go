package executor

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/warden-go/warden/messages"
)

// tracerName is the instrumentation scope of the executor's spans.
const tracerName = "github.com/warden-go/warden/executor"

// Span event names.
const (
	eventRetry       = "warden.retry"
	eventCircuitOpen = "warden.circuit_open"
	eventRejected    = "warden.rejected"
	eventTimeout     = "warden.timeout"
)

// startSpan starts the span of a job of d with operation op, a child of
// ctx's span, and returns the context that carries it.
func (d *dependency) startSpan(ctx context.Context, op string) context.Context {
	ctx, _ = d.ex.tracer.Start(ctx, d.spanName, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("dependency", d.name), attribute.String("operation", op)))
	return ctx
}

// traceTurnedAway records a call turned away at submission as a span of
// its own that ends at once, with an event saying why.
func (d *dependency) traceTurnedAway(ctx context.Context, opts []CallOption, err error) {
	if d.ex.tracer == nil {
		return
	}
	span := trace.SpanFromContext(d.startSpan(ctx, d.opName(opts)))
	if coe, ok := err.(*messages.CircuitOpenError); ok {
		span.AddEvent(eventCircuitOpen, trace.WithAttributes(
			attribute.String("retry_after", coe.RetryAfter().String()),
			attribute.Int("failures", coe.FailureCount)))
		endSpan(span, 0, err, outShortCircuited)
		return
	}
	span.AddEvent(eventRejected, trace.WithAttributes(attribute.String("err", err.Error())))
	endSpan(span, 0, err, outRejected)
}

// traceRetry adds a retry event to job j's span.
func (j *job) traceRetry(attempt int, delay time.Duration, err error) {
	if j.dep.ex.tracer == nil {
		return
	}
	span := trace.SpanFromContext(j.parent)
	if errors.Is(err, messages.ErrTimeout) {
		span.AddEvent(eventTimeout, trace.WithAttributes(attribute.Int("attempt", attempt)))
	}
	span.AddEvent(eventRetry, trace.WithAttributes(
		attribute.Int("attempt", attempt), attribute.String("delay", delay.String()), attribute.String("err", err.Error())))
}

// traceEnd ends job j's span, which ended after attempts attempts.
func (j *job) traceEnd(attempts int, err error, o outcome) {
	span := trace.SpanFromContext(j.parent)
	if o == outTimedOut {
		span.AddEvent(eventTimeout, trace.WithAttributes(attribute.Int("attempt", attempts)))
	}
	endSpan(span, attempts, err, o)
}

func endSpan(span trace.Span, attempts int, err error, o outcome) {
	span.SetAttributes(attribute.Int("attempts", attempts))
	if err != nil {
		span.SetAttributes(attribute.String("error.type", o.String()))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
