package supervisor

import (
	"math"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
)

// Defaults used for zero fields of a Policy.
const (
	DefaultMaxRestarts    = 10
	DefaultWindow         = 10 * time.Second
	DefaultInitialBackoff = 10 * time.Millisecond
	DefaultMaxBackoff     = time.Second
	DefaultMultiplier     = 2.0
)

// Policy configures restarts. The zero value restarts up to 10 crashes in
// any 10 seconds, waiting 10 ms doubling to 1 s, without jitter.
type Policy struct {
	// MaxRestarts is how many crashes within Window are restarted; one more
	// escalates. Zero means DefaultMaxRestarts.
	MaxRestarts int
	// Window is the period over which crashes are counted. Zero means
	// DefaultWindow.
	Window time.Duration
	// InitialBackoff is the delay before the first restart in a window.
	// Zero means DefaultInitialBackoff.
	InitialBackoff time.Duration
	// MaxBackoff caps the restart delay. Zero means DefaultMaxBackoff,
	// raised to InitialBackoff if that is larger.
	MaxBackoff time.Duration
	// Multiplier, at least 1, grows the delay for each crash in the window.
	// Zero means DefaultMultiplier.
	Multiplier float64
	// Jitter, in [0, 1), spreads each delay by up to this share either way.
	// Zero means none: one child restarting alone has no herd to spread.
	Jitter float64
}

// Validate reports every invalid field, joined, each error matching
// messages.ErrInvalidPolicy.
func (p Policy) Validate() error {
	e := policyerr.New("supervisor.Policy")
	e.Check(p.MaxRestarts >= 0, "MaxRestarts", p.MaxRestarts, "must not be negative")
	e.Check(p.Window >= 0, "Window", p.Window, "must not be negative")
	e.Check(p.InitialBackoff >= 0, "InitialBackoff", p.InitialBackoff, "must not be negative")
	e.Check(p.MaxBackoff >= 0, "MaxBackoff", p.MaxBackoff, "must not be negative")
	if p.MaxBackoff > 0 && p.InitialBackoff > p.MaxBackoff {
		e.Add("MaxBackoff", p.MaxBackoff, "must not be below InitialBackoff")
	}
	e.Check(p.Multiplier == 0 || (p.Multiplier >= 1 && !math.IsInf(p.Multiplier, 0)),
		"Multiplier", p.Multiplier, "must be 0 (default) or a finite number >= 1")
	e.Check(p.Jitter >= 0 && p.Jitter < 1, "Jitter", p.Jitter, "must be in [0, 1)")
	return e.Err()
}

// WithDefaults returns p with every zero field replaced by its default.
func (p Policy) WithDefaults() Policy {
	if p.MaxRestarts == 0 {
		p.MaxRestarts = DefaultMaxRestarts
	}
	if p.Window == 0 {
		p.Window = DefaultWindow
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = max(DefaultMaxBackoff, p.InitialBackoff)
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultMultiplier
	}
	return p
}
