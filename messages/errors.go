package messages

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, for matching with errors.Is.
var (
	// ErrTimeout matches every *TimeoutError.
	ErrTimeout = errors.New("warden: timeout")
	// ErrProcessingTimeout matches a *TimeoutError of kind KindProcessing.
	ErrProcessingTimeout = errors.New("warden: processing timeout")
	// ErrNetworkTimeout matches a *TimeoutError of kind KindNetwork.
	ErrNetworkTimeout = errors.New("warden: network timeout")
	// ErrCircuitOpen matches every *CircuitOpenError.
	ErrCircuitOpen = errors.New("warden: circuit open")
	// ErrRejected is returned when a dependency already holds as many jobs
	// as its pool's workers and queue allow.
	ErrRejected = errors.New("warden: rejected, dependency at capacity")
	// ErrRetriesExhausted matches every *RetryError.
	ErrRetriesExhausted = errors.New("warden: retries exhausted")
	// ErrRetryBudgetExhausted matches the error of a job whose retry the
	// dependency's retry budget refused; the error matches the last
	// attempt's error too.
	ErrRetryBudgetExhausted = errors.New("warden: retry budget exhausted")
	// ErrPanic matches every *PanicError.
	ErrPanic = errors.New("warden: job panicked")
	// ErrUnknownDependency is returned for a dependency name that was never
	// registered.
	ErrUnknownDependency = errors.New("warden: unknown dependency")
	// ErrShutdown is returned for jobs submitted after, or still pending at,
	// shutdown.
	ErrShutdown = errors.New("warden: executor shut down")
	// ErrDependencyDown is returned once a dependency's actors crashed more
	// often than its restart limit allows.
	ErrDependencyDown = errors.New("warden: dependency down")
	// ErrInvalidPolicy matches every *PolicyError.
	ErrInvalidPolicy = errors.New("warden: invalid policy")
)

// TimeoutError reports that an attempt or a whole job ran out of time.
// It matches ErrTimeout, context.DeadlineExceeded and the sentinel of its
// Kind.
type TimeoutError struct {
	// Operation names what timed out, usually the dependency.
	Operation string
	// Duration is the time budget that ran out.
	Duration time.Duration
	// Kind says whether it was a processing or a network timeout.
	Kind TimeoutKind
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("warden: %s timeout for %q after %s", e.Kind, e.Operation, e.Duration)
}

// Timeout reports true, as net.Error does for timeouts.
func (e *TimeoutError) Timeout() bool { return true }

// Is reports whether target is ErrTimeout, context.DeadlineExceeded or the
// sentinel of e.Kind.
func (e *TimeoutError) Is(target error) bool {
	switch target {
	case ErrTimeout, context.DeadlineExceeded:
		return true
	case ErrProcessingTimeout:
		return e.Kind == KindProcessing
	case ErrNetworkTimeout:
		return e.Kind == KindNetwork
	}
	return false
}

// CircuitOpenError reports a call turned away by an open breaker, or by a
// half-open breaker with no probe permit left. It matches ErrCircuitOpen.
// Calls turned away by the same open period may share one error.
type CircuitOpenError struct {
	// Name is the dependency whose breaker is open.
	Name string
	// FailureCount is the number of consecutive failures when the breaker
	// last tripped.
	FailureCount int
	// LastFailure is when the last failure was recorded.
	LastFailure time.Time
	// Until is when the open period ends and the breaker admits a probe,
	// on the real clock (time.Now); zero when a probe may be tried as soon
	// as one in flight reports, or when the breaker was forced open.
	Until time.Time
}

// RetryAfter is how long from now until the breaker admits a probe: zero
// once Until has passed, or when Until is zero.
func (e *CircuitOpenError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return 0
	}
	return max(time.Until(e.Until), 0)
}

func (e *CircuitOpenError) Error() string {
	if left := e.RetryAfter(); left > 0 {
		return fmt.Sprintf("warden: circuit open for %q, retry after %s", e.Name, left.Round(time.Millisecond))
	}
	return fmt.Sprintf("warden: circuit open for %q", e.Name)
}

// Is reports whether target is ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// RetryError reports that a job used up its attempts. It matches
// ErrRetriesExhausted and unwraps to Last, so errors.Is(err, io.EOF) sees
// the last attempt's error.
type RetryError struct {
	// Attempts is the number of attempts made.
	Attempts int
	// Last is the error of the last attempt.
	Last error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("warden: retries exhausted after %d attempts: %v", e.Attempts, e.Last)
}

// Is reports whether target is ErrRetriesExhausted.
func (e *RetryError) Is(target error) bool { return target == ErrRetriesExhausted }

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Last }

// PanicError reports a job function that panicked. The panic was
// recovered; the worker that ran it keeps serving. It matches ErrPanic, and
// unwraps to Value when Value is an error.
type PanicError struct {
	// Value is what the function passed to panic.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("warden: job panicked: %v", e.Value) }

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns Value if it is an error, so a panic(err) still matches err.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// PolicyError names one invalid field of a policy. Validation returns every
// PolicyError it finds, joined with errors.Join; each matches
// ErrInvalidPolicy.
type PolicyError struct {
	// Policy names the policy type, such as "breaker.Policy".
	Policy string
	// Field is the field's name, such as "FailureRateThreshold".
	Field string
	// Value is the rejected value.
	Value any
	// Reason says what a valid value looks like.
	Reason string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("warden: invalid policy: %s.%s = %v: %s", e.Policy, e.Field, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalidPolicy.
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }

// ErrInvalidJob is returned for a job that cannot run: a nil function or a
// nil context.
var ErrInvalidJob = errors.New("warden: invalid job")
