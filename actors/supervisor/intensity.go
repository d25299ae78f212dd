package supervisor

import (
	"strconv"
	"time"

	"github.com/warden-go/warden/internal/backoff"
)

// Action is what to do about a crash. The zero value is Restart.
type Action uint8

const (
	// Restart the crashed actor after Decision.Delay.
	Restart Action = iota
	// Escalate: the restart limit is passed; the dependency is down.
	Escalate
)

// String returns "restart" or "escalate".
func (a Action) String() string {
	switch a {
	case Restart:
		return "restart"
	case Escalate:
		return "escalate"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the answer to a crash.
type Decision struct {
	Action Action
	// Delay is the wait before a restart.
	Delay time.Duration
	// Crashes is the number of crashes within the window, this one included.
	Crashes int
}

// Intensity tracks one child's crashes and decides each restart. It is not
// safe for concurrent use.
type Intensity struct {
	p       Policy
	crashes []time.Time // within the window, oldest first
}

// NewIntensity returns a tracker for a valid policy; an invalid one returns
// an error matching messages.ErrInvalidPolicy.
func NewIntensity(p Policy) (*Intensity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Intensity{p: p.WithDefaults()}, nil
}

// Policy returns the policy in force, with defaults filled in.
func (in *Intensity) Policy() Policy { return in.p }

// Crash records a crash at now and decides: restart while at most
// MaxRestarts crashes fall within the last Window, else escalate. rnd, a
// uniform random number in [0, 1), drives the jitter.
func (in *Intensity) Crash(now time.Time, rnd float64) Decision {
	in.forget(now)
	in.crashes = append(in.crashes, now)
	n := len(in.crashes)
	if n > in.p.MaxRestarts {
		return Decision{Action: Escalate, Crashes: n}
	}
	return Decision{Action: Restart, Delay: in.delay(n, rnd), Crashes: n}
}

// Crashes returns how many crashes fall within the window ending at now.
func (in *Intensity) Crashes(now time.Time) int {
	in.forget(now)
	return len(in.crashes)
}

// Reset forgets every crash, as after the child was replaced.
func (in *Intensity) Reset() { in.crashes = in.crashes[:0] }

// forget drops crashes older than the window. A crash exactly Window ago
// is outside it.
func (in *Intensity) forget(now time.Time) {
	cut := 0
	for cut < len(in.crashes) && now.Sub(in.crashes[cut]) >= in.p.Window {
		cut++
	}
	in.crashes = append(in.crashes[:0], in.crashes[cut:]...)
}

// delay is InitialBackoff x Multiplier^(n-1), capped, spread by Jitter and
// capped again. A random number outside [0, 1) means no spread.
func (in *Intensity) delay(n int, rnd float64) time.Duration {
	p := in.p
	d := backoff.Exponential{Initial: p.InitialBackoff, Multiplier: p.Multiplier, Max: p.MaxBackoff}.Base(n)
	if !(rnd >= 0 && rnd < 1) {
		rnd = 0.5
	}
	return backoff.Proportional(d, p.Jitter, rnd, p.MaxBackoff)
}
