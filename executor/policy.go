package executor

import (
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/internal/policyerr"
)

// The original module's timeout presets.
const (
	// StandardTimeout is the default budget of a whole job.
	StandardTimeout = 30 * time.Second
	// NetworkTimeout is the budget of ExternalAPIPolicy.
	NetworkTimeout = 10 * time.Second
)

// Defaults for a zero Pool.
const (
	DefaultWorkers = 4
	DefaultQueue   = 64
	// MaxPoolSize bounds Workers and Queue.
	MaxPoolSize = 1 << 20
)

// Pool sizes a dependency's bulkhead: at most Workers jobs run at once and
// at most Workers + Queue are in flight (running, queued or waiting to
// retry); more are rejected at once with ErrRejected.
type Pool struct {
	// Workers is the number of worker goroutines, started at the
	// dependency's first call. Zero means DefaultWorkers. Each runs one
	// job at a time.
	Workers int
	// Queue is the number of jobs that may wait beyond the running ones.
	// Zero means DefaultQueue.
	Queue int
}

// Policy protects one dependency. The zero value is valid: a 30-second
// budget per job, three attempts with full-jitter backoff from one second,
// a breaker that opens for 60 seconds after five consecutive failures,
// four workers and a queue of 64.
type Policy struct {
	// Timeout is the budget of a whole job, all attempts and waits
	// included; a caller's earlier context deadline wins. Zero means
	// StandardTimeout.
	Timeout time.Duration
	// AttemptTimeout bounds each attempt. Zero means none beyond the job's
	// deadline.
	AttemptTimeout time.Duration
	// TimeoutKind labels this dependency's timeouts; the zero value is
	// KindProcessing.
	TimeoutKind TimeoutKind
	// Retry decides retries; see retrier.Policy for its defaults.
	Retry retrier.Policy
	// Breaker guards the dependency; see breaker.Policy for its defaults.
	Breaker breaker.Policy
	// Pool bounds concurrency and in-flight jobs.
	Pool Pool
	// BreakerCounts says what the breaker counts; the zero value is
	// PerAttempt.
	BreakerCounts BreakerCounts
	// Restart bounds how often the dependency's actors and workers may
	// crash before it is marked down; see supervisor.Policy for its
	// defaults.
	Restart supervisor.Policy
	// RetryBudget, if set, caps the dependency's retries at a share of
	// its calls (see retrier.Budget; &retrier.Budget{} has the
	// defaults: 20% plus 10 per second, over 10 s). A retry over budget
	// is not made: the job ends with its last error, which then also
	// matches ErrRetryBudgetExhausted. Nil means no budget.
	RetryBudget *retrier.Budget
}

// BreakerCounts orders the breaker and the retries.
type BreakerCounts uint8

const (
	// PerAttempt puts the retries outside the breaker (as resilience4j
	// and Polly recommend): the breaker counts every attempt, each retry
	// asks it again, and a retry that finds it open stops at once with an
	// error matching ErrCircuitOpen and the last attempt's error.
	PerAttempt BreakerCounts = iota
	// PerJob puts the breaker outside the retries, the original module's
	// order: the breaker admits the job once and counts one outcome for
	// it, its last attempt's.
	PerJob
)

// String returns "per-attempt" or "per-job".
func (b BreakerCounts) String() string {
	switch b {
	case PerAttempt:
		return "per-attempt"
	case PerJob:
		return "per-job"
	}
	return fmt.Sprintf("breakercounts(%d)", uint8(b))
}

// DatabasePolicy is the original module's database preset: the standard
// 30-second budget, standard retries and a breaker that opens for 30
// seconds after three consecutive failures.
func DatabasePolicy() Policy {
	return Policy{
		Timeout:     StandardTimeout,
		TimeoutKind: KindProcessing,
		Retry:       retrier.Standard(),
		Breaker:     breaker.Database(),
	}
}

// ExternalAPIPolicy is the original module's external API preset: a
// 10-second network budget, standard retries and a breaker that opens for
// 60 seconds after five consecutive failures.
func ExternalAPIPolicy() Policy {
	return Policy{
		Timeout:     NetworkTimeout,
		TimeoutKind: KindNetwork,
		Retry:       retrier.Standard(),
		Breaker:     breaker.ExternalAPI(),
	}
}

// Validate reports every invalid field, nested policies included, joined;
// each error matches ErrInvalidPolicy and names its field.
func (p Policy) Validate() error {
	e := policyerr.New("executor.Policy")
	e.Check(p.Timeout >= 0, "Timeout", p.Timeout, "must not be negative")
	e.Check(p.AttemptTimeout >= 0, "AttemptTimeout", p.AttemptTimeout, "must not be negative")
	if p.Timeout >= 0 && p.AttemptTimeout > p.withDefaults().Timeout {
		e.Add("AttemptTimeout", p.AttemptTimeout, "must not exceed Timeout")
	}
	e.Check(p.TimeoutKind <= KindNetwork, "TimeoutKind", p.TimeoutKind, "must be KindProcessing or KindNetwork")
	e.Check(p.BreakerCounts <= PerJob, "BreakerCounts", p.BreakerCounts, "must be PerAttempt or PerJob")
	e.Check(p.Pool.Workers >= 0 && p.Pool.Workers <= MaxPoolSize, "Pool.Workers", p.Pool.Workers, "must be in [0, 1048576]")
	e.Check(p.Pool.Queue >= 0 && p.Pool.Queue <= MaxPoolSize, "Pool.Queue", p.Pool.Queue, "must be in [0, 1048576]")
	e.Nest("Retry", p.Retry.Validate())
	e.Nest("Breaker", p.Breaker.Validate())
	e.Nest("Restart", p.Restart.Validate())
	if p.RetryBudget != nil {
		e.Nest("RetryBudget", p.RetryBudget.Validate())
	}
	return e.Err()
}

func (p Policy) withDefaults() Policy {
	if p.Timeout == 0 {
		p.Timeout = StandardTimeout
	}
	if p.Pool.Workers == 0 {
		p.Pool.Workers = DefaultWorkers
	}
	if p.Pool.Queue == 0 {
		p.Pool.Queue = DefaultQueue
	}
	p.Retry = p.Retry.WithDefaults()
	return p
}
