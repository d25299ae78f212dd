package executor

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/messages"
)

// The outcome x policy matrix of decide, with explicit instants.
func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	perAttempt := Policy{
		Timeout: 10 * time.Second, AttemptTimeout: time.Second, TimeoutKind: KindNetwork,
		Retry: retrier.Policy{MaxAttempts: 3, InitialDelay: 100 * time.Millisecond, Jitter: retrier.NoJitter},
	}.withDefaults()
	perJob := perAttempt
	perJob.BreakerCounts = PerJob
	onlyTransient := perAttempt
	onlyTransient.Retry.RetryIf = func(err error) bool { return !errors.Is(err, boom) }
	ignoreBoom := perAttempt
	ignoreBoom.Breaker.IsIgnored = func(err error) bool { return errors.Is(err, boom) }

	type want struct {
		report  bool
		outcome messages.Outcome
		retry   bool
		delay   time.Duration
		counter outcome
		errIs   []error
		errType string
	}
	tests := []struct {
		name   string
		policy Policy
		a      attemptEnd
		now    time.Time
		want   want
	}{
		{"success", perAttempt, attemptEnd{attempt: 1}, t0,
			want{report: true, outcome: messages.Success, counter: outSucceeded}},
		{"success on a retry", perJob, attemptEnd{attempt: 3}, t0,
			want{report: true, outcome: messages.Success, counter: outSucceeded}},
		{"failure retried, per attempt: reported", perAttempt, attemptEnd{attempt: 1, err: boom}, t0,
			want{report: true, outcome: messages.Failure, retry: true, delay: 100 * time.Millisecond}},
		{"failure retried, per job: not reported", perJob, attemptEnd{attempt: 1, err: boom}, t0,
			want{report: false, outcome: messages.Failure, retry: true, delay: 100 * time.Millisecond}},
		{"second retry doubles", perAttempt, attemptEnd{attempt: 2, err: boom}, t0,
			want{report: true, outcome: messages.Failure, retry: true, delay: 200 * time.Millisecond}},
		{"attempts used up", perAttempt, attemptEnd{attempt: 3, err: boom}, t0,
			want{report: true, outcome: messages.Failure, counter: outFailed, errIs: []error{boom, ErrRetriesExhausted}, errType: "*messages.RetryError"}},
		{"attempts used up, per job: the job's one outcome", perJob, attemptEnd{attempt: 3, err: boom}, t0,
			want{report: true, outcome: messages.Failure, counter: outFailed, errIs: []error{boom, ErrRetriesExhausted}}},
		{"not retryable: the error itself", onlyTransient, attemptEnd{attempt: 1, err: boom}, t0,
			want{report: true, outcome: messages.Failure, counter: outFailed, errIs: []error{boom}, errType: "*errors.errorString"}},
		{"permanent", perAttempt, attemptEnd{attempt: 1, err: retrier.Permanent(boom)}, t0,
			want{report: true, outcome: messages.Failure, counter: outFailed, errIs: []error{boom}}},
		{"ignored by the breaker, still retried", ignoreBoom, attemptEnd{attempt: 1, err: boom}, t0,
			want{report: true, outcome: messages.Ignored, retry: true, delay: 100 * time.Millisecond}},
		{"attempt timed out, retried", perAttempt, attemptEnd{attempt: 1, timedOut: true}, t0.Add(time.Second),
			want{report: true, outcome: messages.Failure, retry: true, delay: 100 * time.Millisecond}},
		{"every attempt timed out: timed out", perAttempt, attemptEnd{attempt: 3, timedOut: true}, t0.Add(3 * time.Second),
			want{report: true, outcome: messages.Failure, counter: outTimedOut, errIs: []error{ErrTimeout, ErrNetworkTimeout, ErrRetriesExhausted}}},
		{"retry would pass the deadline", perAttempt, attemptEnd{attempt: 1, err: boom}, t0.Add(9950 * time.Millisecond),
			want{report: true, outcome: messages.Failure, counter: outFailed, errIs: []error{boom}, errType: "*errors.errorString"}},
		{"job deadline during the attempt", perAttempt, attemptEnd{attempt: 1, timedOut: true}, t0.Add(10 * time.Second),
			want{report: true, outcome: messages.Failure, counter: outTimedOut, errIs: []error{ErrTimeout}, errType: "*messages.TimeoutError"}},
		{"fn returns its context's end at the deadline", perAttempt, attemptEnd{attempt: 1, err: context.DeadlineExceeded}, t0.Add(10 * time.Second),
			want{report: true, outcome: messages.Failure, counter: outTimedOut, errIs: []error{ErrTimeout}}},
		{"panic: never retried", perAttempt, attemptEnd{attempt: 1, err: &messages.PanicError{Value: "x"}, panicked: true}, t0,
			want{report: true, outcome: messages.Failure, counter: outPanicked, errIs: []error{ErrPanic}}},
		{"ended from outside: ignored", perAttempt, attemptEnd{attempt: 1, err: context.Canceled, cancelled: true}, t0,
			want{report: true, outcome: messages.Ignored}},
		{"caller's cancellation as fn's error: ignored, not retried", perAttempt, attemptEnd{attempt: 1, err: context.Canceled}, t0,
			want{report: true, outcome: messages.Ignored, counter: outFailed, errIs: []error{context.Canceled}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decide(decision{policy: &tt.policy, op: "db", deadline: t0.Add(10 * time.Second), budget: 10 * time.Second},
				tt.a, tt.now, 0.5)
			assert.Equal(t, tt.want.report, v.report, "report")
			if v.report {
				assert.Equal(t, tt.want.outcome, v.outcome, "outcome")
			}
			assert.Equal(t, tt.want.retry, v.retry, "retry")
			if tt.want.retry {
				assert.Equal(t, tt.want.delay, v.delay)
				assert.Equal(t, tt.now.Add(tt.want.delay), v.at)
				assert.NoError(t, v.err)
				return
			}
			assert.Equal(t, tt.want.counter, v.counter, "counter")
			for _, e := range tt.want.errIs {
				assert.ErrorIs(t, v.err, e)
			}
			if tt.want.errType != "" {
				assert.Equal(t, tt.want.errType, fmt.Sprintf("%T", v.err))
			}
		})
	}
}

func TestDecideTimeoutNamesItsBudget(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Policy{Timeout: 10 * time.Second, AttemptTimeout: time.Second, Retry: retrier.Policy{MaxAttempts: 1}}.withDefaults()
	d := decision{policy: &p, op: "lookup", deadline: t0.Add(10 * time.Second), budget: 10 * time.Second}

	var te *TimeoutError
	v := decide(d, attemptEnd{attempt: 1, timedOut: true}, t0.Add(time.Second), 0)
	require.ErrorAs(t, v.err, &te)
	assert.Equal(t, TimeoutError{Operation: "lookup", Duration: time.Second, Kind: KindProcessing}, *te, "the attempt's budget")

	v = decide(d, attemptEnd{attempt: 1, timedOut: true}, t0.Add(10*time.Second), 0)
	require.ErrorAs(t, v.err, &te)
	assert.Equal(t, 10*time.Second, te.Duration, "at the job's deadline, the job's budget")
}

func TestRetryRefusedKeepsTheRootCause(t *testing.T) {
	until := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	open := &messages.CircuitOpenError{Name: "db", Until: until}
	last := fmt.Errorf("status 503")
	o, err := retryRefused(open, last, 3)
	assert.ErrorIs(t, err, ErrCircuitOpen)
	assert.ErrorIs(t, err, last)
	var ce *CircuitOpenError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, until, ce.Until)
	assert.Equal(t, outFailed, o, "it ran: failed, not short-circuited")
	assert.Equal(t, `warden: circuit open for "db" after 3 attempts: status 503`, err.Error())

	o, _ = retryRefused(open, &messages.TimeoutError{Operation: "db"}, 2)
	assert.Equal(t, outTimedOut, o)
}

func TestAdmitRetryFollowsTheOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	open := &breaker.View{Snapshot: breaker.Snapshot{State: messages.Open, OpenUntil: t0.Add(time.Minute)}}
	held := breaker.Permit{Generation: 4}
	pa := Policy{}.withDefaults()
	assert.Equal(t, breaker.Rejected, admitRetry(&pa, open, t0, held).Verdict, "per attempt: each retry asks the breaker")
	pj := Policy{BreakerCounts: PerJob}.withDefaults()
	a := admitRetry(&pj, open, t0, held)
	assert.Equal(t, breaker.Admitted, a.Verdict, "per job: the job's permit holds")
	assert.Equal(t, held, a.Permit)
}

// The worker skips decide for a plain success: decide's verdict on one is
// succeeded whatever the policy, attempt, deadline or delay, and no other
// attempt counts as plain.
func TestPlainSuccessNeedsNoDecision(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	perJob := Policy{BreakerCounts: PerJob}.withDefaults()
	for _, p := range []Policy{Policy{}.withDefaults(), perJob} {
		for _, attempt := range []int{1, 2, 5} {
			for _, now := range []time.Time{t0, t0.Add(time.Hour)} {
				a := attemptEnd{attempt: attempt}
				require.True(t, a.plainSuccess())
				d := decision{policy: &p, op: "db", deadline: t0.Add(time.Minute), budget: time.Minute, prevDelay: time.Second}
				assert.Equal(t, succeeded, decide(d, a, now, 0.5))
			}
		}
	}
	for _, a := range []attemptEnd{
		{attempt: 1, err: errors.New("boom")},
		{attempt: 1, timedOut: true},
		{attempt: 1, cancelled: true},
		{attempt: 1, panicked: true, err: &messages.PanicError{Value: "x"}},
	} {
		assert.False(t, a.plainSuccess(), "%+v", a)
	}
}
