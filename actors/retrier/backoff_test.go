package retrier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

var (
	t0      = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	errBoom = errors.New("boom")
)

func TestStandardScheduleWithoutJitter(t *testing.T) {
	p := Standard()
	p.Jitter = NoJitter
	p.MaxAttempts = 10
	var got []time.Duration
	for retry := 1; retry <= 8; retry++ {
		got = append(got, p.Delay(retry, 0, 0.5))
	}
	s := time.Second
	assert.Equal(t, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}, got)
}

func TestJitterModes(t *testing.T) {
	base := Policy{InitialDelay: 100 * time.Millisecond, Multiplier: 2, MaxDelay: time.Second}
	tests := []struct {
		jitter   Jitter
		retry    int
		prev     time.Duration
		rnd      float64
		want     time.Duration
		describe string
	}{
		{NoJitter, 3, 0, 0.9, 400 * time.Millisecond, "exact backoff"},
		{FullJitter, 3, 0, 0, 0, "full: low end is zero"},
		{FullJitter, 3, 0, 0.5, 200 * time.Millisecond, "full: half"},
		{EqualJitter, 3, 0, 0, 200 * time.Millisecond, "equal: low end is half"},
		{EqualJitter, 3, 0, 0.5, 300 * time.Millisecond, "equal: three quarters"},
		{DecorrelatedJitter, 1, 0, 0, 100 * time.Millisecond, "decorrelated: low end is InitialDelay"},
		{DecorrelatedJitter, 2, 200 * time.Millisecond, 0.5, 350 * time.Millisecond, "decorrelated: (100+600)/2"},
		{DecorrelatedJitter, 9, time.Second, 0.9, time.Second, "decorrelated: capped"},
		{ProportionalJitter, 2, 0, 0, 160 * time.Millisecond, "proportional: -20%"},
		{ProportionalJitter, 2, 0, 0.5, 200 * time.Millisecond, "proportional: centre"},
		{ProportionalJitter, 5, 0, 0.99, time.Second, "proportional: capped at MaxDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.describe, func(t *testing.T) {
			p := base
			p.Jitter = tt.jitter
			assert.Equal(t, tt.want, p.Delay(tt.retry, tt.prev, tt.rnd))
		})
	}
}

func TestDelayClampsBadRandomNumbers(t *testing.T) {
	p := Policy{InitialDelay: time.Second, Jitter: FullJitter}
	assert.Equal(t, time.Duration(0), p.Delay(1, 0, math.NaN()))
	assert.Equal(t, time.Duration(0), p.Delay(1, 0, -3))
	assert.Less(t, p.Delay(1, 0, 7), time.Second)
	assert.Equal(t, time.Second, p.Backoff(0), "retry numbers below one mean the first")
}

func TestDelayNeverOverflows(t *testing.T) {
	huge := Policy{InitialDelay: math.MaxInt64 / 2, Multiplier: math.MaxFloat64, MaxDelay: math.MaxInt64}
	for _, j := range []Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter} {
		huge.Jitter = j
		for _, retry := range []int{1, 2, 63, 64, 10_000, math.MaxInt32} {
			d := huge.Delay(retry, math.MaxInt64, 0.999)
			assert.GreaterOrEqual(t, d, time.Duration(0), "%s retry %d", j, retry)
			assert.LessOrEqual(t, d, time.Duration(math.MaxInt64))
		}
	}
	small := Policy{InitialDelay: time.Millisecond, Multiplier: 1e300, MaxDelay: time.Hour, Jitter: NoJitter}
	assert.Equal(t, time.Hour, small.Delay(10_000, 0, 0))
}

func TestNextDecisions(t *testing.T) {
	p := Policy{MaxAttempts: 3, InitialDelay: time.Second, Jitter: NoJitter}
	deadline := t0.Add(10 * time.Second)
	tests := []struct {
		name     string
		attempt  int
		err      error
		deadline time.Time
		want     Step
	}{
		{"success", 1, nil, deadline, Step{Stop: Succeeded}},
		{"first failure", 1, errBoom, deadline, Step{Delay: time.Second, At: t0.Add(time.Second)}},
		{"second failure doubles", 2, errBoom, deadline, Step{Delay: 2 * time.Second, At: t0.Add(2 * time.Second)}},
		{"attempts used up", 3, errBoom, deadline, Step{Stop: Exhausted}},
		{"no deadline", 1, errBoom, time.Time{}, Step{Delay: time.Second, At: t0.Add(time.Second)}},
		{"wait would reach the deadline", 2, errBoom, t0.Add(2 * time.Second), Step{Stop: DeadlineReached, Delay: 2 * time.Second}},
		{"wait ends just before the deadline", 2, errBoom, t0.Add(2*time.Second + 1), Step{Delay: 2 * time.Second, At: t0.Add(2 * time.Second)}},
		{"permanent", 1, Permanent(errBoom), deadline, Step{Stop: PermanentError}},
		{"wrapped permanent", 1, fmt.Errorf("op: %w", Permanent(errBoom)), deadline, Step{Stop: PermanentError}},
		{"canceled", 1, context.Canceled, deadline, Step{Stop: Canceled}},
		{"retry after", 1, RetryAfter(5*time.Second, errBoom), deadline, Step{Delay: 5 * time.Second, At: t0.Add(5 * time.Second)}},
		{"retry after past deadline", 1, RetryAfter(time.Minute, errBoom), deadline, Step{Stop: DeadlineReached, Delay: time.Minute}},
		{"retry after still counts attempts", 3, RetryAfter(time.Second, errBoom), deadline, Step{Stop: Exhausted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, p.Next(tt.attempt, tt.err, 0, t0, tt.deadline, 0.5))
		})
	}
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestClassificationLists(t *testing.T) {
	errRetry := errors.New("retry me")
	errNever := errors.New("never")
	p := Policy{
		RetryOn:    []error{errRetry, (*codeError)(nil), nil},
		NeverRetry: []error{errNever, (*os.PathError)(nil)},
		RetryIf:    func(err error) bool { return err.Error() == "predicate" },
	}
	assert.True(t, p.Retryable(errRetry))
	assert.True(t, p.Retryable(fmt.Errorf("wrapped: %w", errRetry)))
	assert.True(t, p.Retryable(&codeError{503}), "typed nil entry matches by type")
	assert.True(t, p.Retryable(errors.New("predicate")))
	assert.False(t, p.Retryable(errBoom), "neither list nor predicate")
	assert.False(t, p.Retryable(errors.Join(errRetry, errNever)), "NeverRetry wins")
	assert.False(t, p.Retryable(&os.PathError{Op: "open", Err: errRetry}), "NeverRetry by type wins")
	assert.True(t, p.Retryable(RetryAfter(time.Second, errBoom)), "an explicit retry request is honoured")
	assert.False(t, p.Retryable(RetryAfter(time.Second, errNever)))
	assert.False(t, p.Retryable(nil))

	assert.Equal(t, NotRetryable, p.Next(1, errBoom, 0, t0, time.Time{}, 0).Stop)
	assert.True(t, Policy{}.Retryable(errBoom), "an empty policy retries everything")
}

func TestWrappers(t *testing.T) {
	assert.NoError(t, Permanent(nil))
	assert.NoError(t, RetryAfter(time.Second, nil))
	p := Permanent(io.EOF)
	assert.ErrorIs(t, p, io.EOF)
	assert.Equal(t, "EOF", p.Error())
	assert.True(t, IsPermanent(fmt.Errorf("x: %w", p)))
	assert.False(t, IsPermanent(io.EOF))

	r := RetryAfter(-time.Second, io.EOF)
	d, ok := RequestedDelay(r)
	assert.True(t, ok)
	assert.Zero(t, d, "negative delays count as zero")
	assert.ErrorIs(t, r, io.EOF)
	assert.Equal(t, "EOF (retry after 0s)", r.Error())
	_, ok = RequestedDelay(io.EOF)
	assert.False(t, ok)
}

// asForwarder hands errors.As to the error it holds, without Unwrap.
type asForwarder struct{ err error }

func (e asForwarder) Error() string      { return "forwarder" }
func (e asForwarder) As(target any) bool { return errors.As(e.err, target) }

// The marks are found wherever errors.As finds them: through %w chains,
// errors.Join and an As method, and without allocating on a plain chain.
func TestMarksAreFoundInTheWholeTree(t *testing.T) {
	p := Permanent(io.EOF)
	r := RetryAfter(time.Second, io.EOF)
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		delay     bool
	}{
		{"nil", nil, false, false},
		{"chain", fmt.Errorf("a: %w", fmt.Errorf("b: %w", p)), true, false},
		{"join", errors.Join(io.EOF, fmt.Errorf("x: %w", r)), false, true},
		{"both joined", errors.Join(p, r), true, true},
		{"multiple %w", fmt.Errorf("%w and %w", io.EOF, p), true, false},
		{"As method", asForwarder{fmt.Errorf("y: %w", r)}, false, true},
		{"unmarked", fmt.Errorf("z: %w", io.EOF), false, false},
	} {
		assert.Equal(t, tc.permanent, IsPermanent(tc.err), tc.name)
		_, ok := RequestedDelay(tc.err)
		assert.Equal(t, tc.delay, ok, tc.name)
	}
	chain := fmt.Errorf("a: %w", fmt.Errorf("b: %w", r))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = IsPermanent(chain)
		_, _ = RequestedDelay(chain)
	}))
}

type netTimeout struct{ timeout bool }

func (e netTimeout) Error() string   { return "net" }
func (e netTimeout) Timeout() bool   { return e.timeout }
func (e netTimeout) Temporary() bool { return false }

var _ net.Error = netTimeout{}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errBoom, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, true},
		{&messages.TimeoutError{Operation: "db"}, true},
		{io.ErrUnexpectedEOF, true},
		{io.EOF, false},
		{net.ErrClosed, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{&net.OpError{Op: "read", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, true},
		{syscall.EPIPE, true},
		{syscall.ECONNABORTED, true},
		{syscall.ENOENT, false},
		{netTimeout{timeout: true}, true},
		{netTimeout{timeout: false}, false},
		{Permanent(syscall.ECONNREFUSED), true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsTransient(tt.err), "%v", tt.err)
	}
	// Permanent still wins in a policy that retries transient errors.
	assert.False(t, Standard().Retryable(Permanent(syscall.ECONNREFUSED)))
}

func TestPresets(t *testing.T) {
	s := Standard()
	assert.Equal(t, 3, s.MaxAttempts)
	assert.Equal(t, time.Second, s.InitialDelay)
	assert.Equal(t, 2.0, s.Multiplier)
	assert.Equal(t, 60*time.Second, s.MaxDelay)
	assert.Equal(t, FullJitter, s.Jitter)
	assert.True(t, s.Retryable(syscall.ECONNREFUSED))
	assert.False(t, s.Retryable(errBoom))
	require.NoError(t, s.Validate())

	a := Aggressive()
	assert.Equal(t, 5, a.MaxAttempts)
	assert.Equal(t, s.InitialDelay, a.InitialDelay)
	require.NoError(t, a.Validate())

	d := Policy{}.WithDefaults()
	assert.Equal(t, Policy{MaxAttempts: 3, InitialDelay: time.Second, Multiplier: 2, MaxDelay: time.Minute, JitterFactor: 0.2}, d)
	assert.Equal(t, time.Hour, Policy{InitialDelay: time.Hour}.WithDefaults().MaxDelay, "the cap rises to the initial delay")
}

func TestValidate(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		p      Policy
		fields []string
	}{
		{"negative attempts", Policy{MaxAttempts: -1}, []string{"MaxAttempts"}},
		{"negative delay", Policy{InitialDelay: -1}, []string{"InitialDelay"}},
		{"multiplier below one", Policy{Multiplier: 0.5}, []string{"Multiplier"}},
		{"NaN multiplier", Policy{Multiplier: nan}, []string{"Multiplier"}},
		{"infinite multiplier", Policy{Multiplier: math.Inf(1)}, []string{"Multiplier"}},
		{"negative cap", Policy{MaxDelay: -time.Second}, []string{"MaxDelay"}},
		{"cap below initial", Policy{InitialDelay: time.Minute, MaxDelay: time.Second}, []string{"MaxDelay"}},
		{"unknown jitter", Policy{Jitter: 99}, []string{"Jitter"}},
		{"jitter factor above one", Policy{JitterFactor: 1.5}, []string{"JitterFactor"}},
		{"NaN jitter factor", Policy{JitterFactor: nan}, []string{"JitterFactor"}},
		{"several", Policy{MaxAttempts: -2, Multiplier: -1, Jitter: 7}, []string{"MaxAttempts", "Multiplier", "Jitter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
			assert.Equal(t, tt.fields, policyerr.Fields(err))
		})
	}
	assert.NoError(t, Policy{Multiplier: math.MaxFloat64, MaxDelay: math.MaxInt64, JitterFactor: 1}.Validate())
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "full", FullJitter.String())
	assert.Equal(t, "proportional", ProportionalJitter.String())
	assert.Equal(t, "jitter(9)", Jitter(9).String())
	assert.Equal(t, "deadline", DeadlineReached.String())
	assert.Equal(t, "retrying", Retrying.String())
	assert.Equal(t, "stopreason(42)", StopReason(42).String())
	assert.True(t, Step{}.Retry())
	assert.False(t, Step{Stop: Exhausted}.Retry())
}
