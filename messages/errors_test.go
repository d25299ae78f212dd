package messages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeoutErrorMatching(t *testing.T) {
	tests := []struct {
		kind                TimeoutKind
		processing, network bool
	}{
		{KindProcessing, true, false},
		{KindNetwork, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			var err error = fmt.Errorf("query: %w", &TimeoutError{Operation: "postgres", Duration: 2 * time.Second, Kind: tt.kind})
			assert.ErrorIs(t, err, ErrTimeout)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, tt.processing, errors.Is(err, ErrProcessingTimeout))
			assert.Equal(t, tt.network, errors.Is(err, ErrNetworkTimeout))
			assert.NotErrorIs(t, err, ErrCircuitOpen)

			var te *TimeoutError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, "postgres", te.Operation)
			assert.Equal(t, 2*time.Second, te.Duration)
			assert.True(t, te.Timeout())
			var timeout interface{ Timeout() bool }
			require.ErrorAs(t, err, &timeout, "usable where net.Error-style checks look for Timeout()")
			assert.Contains(t, te.Error(), tt.kind.String())
		})
	}
}

func TestCircuitOpenError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		last := time.Now().Add(-time.Minute)
		err := error(&CircuitOpenError{Name: "payments", FailureCount: 5, LastFailure: last, Until: time.Now().Add(time.Second)})
		assert.ErrorIs(t, err, ErrCircuitOpen)
		assert.NotErrorIs(t, err, ErrTimeout)
		var ce *CircuitOpenError
		require.ErrorAs(t, fmt.Errorf("wrapped: %w", err), &ce)
		assert.Equal(t, 5, ce.FailureCount)
		assert.Equal(t, last, ce.LastFailure)
		assert.Equal(t, `warden: circuit open for "payments", retry after 1s`, err.Error())
		time.Sleep(400 * time.Millisecond)
		assert.Equal(t, 600*time.Millisecond, ce.RetryAfter(), "it counts down")
		assert.Equal(t, `warden: circuit open for "payments", retry after 600ms`, err.Error())
		time.Sleep(time.Second)
		assert.Zero(t, ce.RetryAfter(), "the period is over: never negative")
		assert.Equal(t, `warden: circuit open for "payments"`, err.Error())
		assert.Zero(t, (&CircuitOpenError{Name: "payments"}).RetryAfter())
		assert.Equal(t, `warden: circuit open for "payments"`, (&CircuitOpenError{Name: "payments"}).Error())
	})
}

func TestRetryErrorUnwrapsToLast(t *testing.T) {
	err := error(&RetryError{Attempts: 3, Last: fmt.Errorf("read: %w", io.ErrUnexpectedEOF)})
	assert.ErrorIs(t, err, ErrRetriesExhausted)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.Contains(t, err.Error(), "after 3 attempts")

	// The last error's own matching still works through the RetryError.
	timeout := &RetryError{Attempts: 2, Last: &TimeoutError{Operation: "db", Kind: KindNetwork}}
	assert.ErrorIs(t, timeout, ErrNetworkTimeout)
}

func TestPanicError(t *testing.T) {
	err := error(&PanicError{Value: "boom", Stack: []byte("goroutine 1")})
	assert.ErrorIs(t, err, ErrPanic)
	assert.Nil(t, errors.Unwrap(err))
	assert.Equal(t, "warden: job panicked: boom", err.Error())

	inner := errors.New("inner")
	assert.ErrorIs(t, &PanicError{Value: inner}, inner, "panic(err) still matches err")
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{ErrTimeout, ErrProcessingTimeout, ErrNetworkTimeout, ErrCircuitOpen, ErrRejected, ErrInvalidJob,
		ErrRetriesExhausted, ErrPanic, ErrUnknownDependency, ErrShutdown, ErrDependencyDown, ErrInvalidPolicy}
	for i, a := range all {
		assert.Regexp(t, `^warden: [a-z]`, a.Error())
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "forced-open", ForcedOpen.String())
	assert.Equal(t, "disabled", Disabled.String())
	assert.Equal(t, "state(9)", State(9).String())
	assert.True(t, Open.Rejects())
	assert.True(t, ForcedOpen.Rejects())
	assert.False(t, HalfOpen.Rejects())

	assert.Equal(t, "success", Success.String())
	assert.Equal(t, "failure", Failure.String())
	assert.Equal(t, "ignored", Ignored.String())
	assert.Equal(t, "outcome(7)", Outcome(7).String())

	assert.Equal(t, "processing", KindProcessing.String())
	assert.Equal(t, "network", KindNetwork.String())
	assert.Equal(t, "timeoutkind(5)", TimeoutKind(5).String())

	var zs State
	var zk TimeoutKind
	assert.Equal(t, Closed, zs, "zero state is closed")
	assert.Equal(t, KindProcessing, zk, "zero kind is processing, the original default")
}
