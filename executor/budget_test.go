package executor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

// A dependency that fails every call, offered 100 calls a second for a
// minute with 5 attempts each: without a budget it gets 5 times its
// load; with the default budget at most 1.2 times plus the floor of 10
// retries a second (over the run and one window), and every job still
// ends once, those refused with ErrRetryBudgetExhausted and the
// dependency's error.
func TestRetryBudgetCapsTheLoadOfAFailingDependency(t *testing.T) {
	for _, budget := range []*retrier.Budget{nil, {}} {
		name := map[bool]string{true: "none", false: "default"}[budget == nil]
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				p := Policy{
					Timeout:     10 * time.Second,
					Retry:       retrier.Policy{MaxAttempts: 5, InitialDelay: 10 * time.Millisecond, Jitter: retrier.NoJitter},
					Breaker:     breaker.Policy{FailureThreshold: 1 << 30},
					Pool:        Pool{Workers: 64, Queue: 4096},
					RetryBudget: budget,
				}
				ex := start(t, WithDependency("db", p))
				const rate, secs = 100, 60
				var futures []*Future[int]
				for range rate * secs {
					futures = append(futures, Submit(context.Background(), ex, "db", fail))
					time.Sleep(time.Second / rate)
				}
				denied := 0
				for _, f := range futures {
					_, err := f.Wait(context.Background())
					require.ErrorIs(t, err, errBoom)
					if errors.Is(err, ErrRetryBudgetExhausted) {
						denied++
					}
				}
				st, _ := ex.Stats("db")
				calls := float64(rate * secs)
				require.Equal(t, uint64(calls), st.Submitted)
				require.Equal(t, st.Submitted, st.Ended())
				load := float64(st.Attempts) / calls
				t.Logf("attempts per call: %.3f (%d retries, %d refused)", load, st.Retries, st.RetriesDenied)
				if budget == nil {
					assert.Equal(t, 5.0, load)
					assert.Zero(t, st.RetriesDenied)
					return
				}
				floor := retrier.DefaultBudgetPerSecond * (secs + retrier.DefaultBudgetWindow.Seconds())
				assert.LessOrEqual(t, float64(st.Attempts), (1+retrier.DefaultBudgetRatio)*calls+floor)
				assert.Greater(t, load, 1.2, "the budget's share and floor are used")
				assert.Equal(t, int(st.RetriesDenied), denied, "each refusal ends one job, with the budget's error")
			})
		})
	}
}

// An invalid budget fails the policy, naming its fields.
func TestInvalidRetryBudget(t *testing.T) {
	p := fast()
	p.RetryBudget = &retrier.Budget{Ratio: -1, Window: time.Microsecond}
	_, err := New(WithDependency("db", p))
	require.ErrorIs(t, err, ErrInvalidPolicy)
	assert.Contains(t, err.Error(), "RetryBudget.Ratio")
	assert.Contains(t, err.Error(), "RetryBudget.Window")
}
