package messages

import "time"

// Permit is the right to make one call through a breaker. It records the
// generation it was granted in, so an outcome reported after the breaker
// has moved on changes nothing.
type Permit struct {
	// Generation is the breaker's generation when the permit was granted.
	Generation uint64
	// Probe is set for a HALF_OPEN probe permit; Seq then names it.
	Probe bool
	// Seq identifies a probe permit within its generation.
	Seq uint64
}

// Report carries the outcome of one attempt to a breaker actor. It is sent
// fire-and-forget.
type Report struct {
	Permit  Permit
	Outcome Outcome
	// Elapsed is how long the attempt ran, for the slow-call rule.
	Elapsed time.Duration
}

// ProbeWanted tells a breaker actor that jobs are waiting for a HALF_OPEN
// probe permit. The jobs themselves wait in the dependency's own list, not
// in the message, so a lost message loses no job.
type ProbeWanted struct{}

// BreakerTick asks a breaker actor to apply the transitions that time alone
// causes (OPEN to HALF_OPEN, a probe that never reported). Its own timer
// sends it.
type BreakerTick struct{}

// ControlOp is a manual breaker operation.
type ControlOp uint8

const (
	// OpReset closes the breaker and clears its counts.
	OpReset ControlOp = iota
	// OpForceOpen holds the breaker open until reset.
	OpForceOpen
	// OpDisable admits every call until reset.
	OpDisable
)

// Control asks a breaker actor for a manual operation. Done, if not nil,
// receives the resulting state; it must have room for one value.
type Control struct {
	Op   ControlOp
	Done chan<- State
}

// RetryWake tells a retrier actor that retries were requested or timers
// fired. The jobs wait in the retrier's own lists.
type RetryWake struct{}
