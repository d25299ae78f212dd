package executor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/internal/policyerr"
)

// FuzzPolicy checks that every policy is either rejected at construction
// with an error naming its bad fields, or accepted and then runs a job and
// shuts down cleanly.
func FuzzPolicy(f *testing.F) {
	f.Add(int64(time.Second), int64(0), uint8(0), 4, 8, 3, int64(time.Millisecond), 2.0, 5, 0.0, uint8(0))
	f.Add(int64(-1), int64(-1), uint8(9), -1, -1, -1, int64(-1), -1.0, -1, 2.0, uint8(9))
	f.Add(int64(time.Second), int64(time.Minute), uint8(1), 0, 0, 0, int64(0), 0.0, 0, 0.5, uint8(1))
	f.Add(int64(0), int64(0), uint8(0), 1<<21, 0, 1, int64(time.Hour), 1e300, 1, 1.0, uint8(0))
	f.Fuzz(func(t *testing.T, timeout, attempt int64, kind uint8, workers, queue, attempts int, delay int64, mult float64, threshold int, rate float64, counts uint8) {
		if workers > 64 || queue > 1024 {
			t.Skip("too large to start quickly")
		}
		p := Policy{
			Timeout: time.Duration(timeout), AttemptTimeout: time.Duration(attempt), TimeoutKind: TimeoutKind(kind),
			BreakerCounts: BreakerCounts(counts),
			Pool:          Pool{Workers: workers, Queue: queue},
			Retry:         retrier.Policy{MaxAttempts: attempts, InitialDelay: time.Duration(delay), Multiplier: mult},
			Breaker:       breaker.Policy{FailureThreshold: threshold, FailureRateThreshold: rate},
		}
		verr := p.Validate()
		synctest.Test(t, func(t *testing.T) {
			ex, err := New(WithDependency("db", p))
			if verr != nil {
				if !errors.Is(err, ErrInvalidPolicy) || len(policyerr.Fields(verr)) == 0 {
					t.Fatalf("Validate said %v, New said %v", verr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("a valid policy was refused: %v", err)
			}
			v, err := Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 1, nil })
			if err != nil || v != 1 {
				t.Fatalf("a job under a valid policy gave %d, %v", v, err)
			}
			if err := ex.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := ex.Snapshot()[0]
			if st.Submitted != st.Ended() || ex.Gauges() != (Gauges{}) {
				t.Fatalf("stats %+v, gauges %+v", st, ex.Gauges())
			}
		})
	})
}

// FuzzSubmit drives one job per input through every way it can end (its
// behaviour, its caller's deadline and cancellation) and checks it is
// answered exactly once, with a documented error, and counted.
func FuzzSubmit(f *testing.F) {
	f.Add(uint8(0), int64(time.Second), int64(-1), false)
	f.Add(uint8(1), int64(10*time.Millisecond), int64(5*time.Millisecond), false)
	f.Add(uint8(2), int64(-1), int64(-1), true)
	f.Add(uint8(3), int64(time.Minute), int64(0), false)
	f.Add(uint8(4), int64(0), int64(-1), false)
	f.Add(uint8(5), int64(time.Second), int64(-1), false)
	f.Fuzz(func(t *testing.T, behaviour uint8, deadline, cancelAfter int64, nilFn bool) {
		synctest.Test(t, func(t *testing.T) {
			p := fast()
			p.AttemptTimeout = 100 * time.Millisecond
			ex, err := New(WithDependency("db", p))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if deadline != 0 {
				c, cancel := context.WithTimeout(ctx, time.Duration(deadline))
				defer cancel()
				ctx = c
			}
			if cancelAfter >= 0 {
				c, cancel := context.WithCancel(ctx)
				time.AfterFunc(time.Duration(cancelAfter), cancel)
				defer cancel()
				ctx = c
			}
			fn := func(ctx context.Context) (int, error) {
				switch behaviour % 6 {
				case 0:
					return 1, nil
				case 1:
					return 0, errBoom
				case 2:
					panic("fuzz")
				case 3:
					<-ctx.Done()
					return 0, ctx.Err()
				case 4:
					time.Sleep(time.Second) // ignores its context
					return 2, nil
				default:
					return 0, retrier.Permanent(errBoom)
				}
			}
			if nilFn {
				fn = nil
			}
			fut := Submit(ctx, ex, "db", fn)
			v, err := fut.Wait(context.Background())
			switch {
			case nilFn:
				if !errors.Is(err, ErrInvalidJob) {
					t.Fatalf("a nil function gave %v", err)
				}
			case err == nil && (v != 1 || behaviour%6 != 0):
				t.Fatalf("behaviour %d succeeded with %d", behaviour%6, v)
			case err != nil && !documented(err):
				t.Fatalf("undocumented error %T: %v", err, err)
			}
			if _, done, again := fut.Result(); !done || !errors.Is(again, err) {
				t.Fatalf("the future changed its answer: %v, then %v", err, again)
			}
			time.Sleep(2 * time.Second)
			if err := ex.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := ex.Snapshot()[0]
			if st.Submitted != st.Ended() || ex.Gauges() != (Gauges{}) {
				t.Fatalf("stats %+v, gauges %+v", st, ex.Gauges())
			}
		})
	})
}

// documented reports whether err is one of the errors Warden documents,
// or the job's own error.
func documented(err error) bool {
	for _, target := range []error{ErrTimeout, ErrCircuitOpen, ErrRejected, ErrRetriesExhausted, ErrPanic,
		ErrInvalidJob, context.Canceled, context.DeadlineExceeded, errBoom} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
