package messages

import "strconv"

// State is the state of a circuit breaker. The zero value is Closed, the
// state in which calls pass.
type State uint8

const (
	// Closed lets calls through and watches their outcomes.
	Closed State = iota
	// Open rejects calls until its open period has passed.
	Open
	// HalfOpen admits a bounded number of probe calls to test recovery.
	HalfOpen
	// ForcedOpen rejects every call until the breaker is reset by hand.
	ForcedOpen
	// Disabled admits every call and keeps counting, but never trips.
	Disabled
)

var stateNames = [...]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns the lowercase name of the state, such as "half-open".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Rejects reports whether a breaker in this state turns calls away without
// asking for a probe: Open and ForcedOpen.
func (s State) Rejects() bool { return s == Open || s == ForcedOpen }

// Outcome classifies the result of one attempt for a circuit breaker.
// The zero value is Success.
type Outcome uint8

const (
	// Success counts towards closing the breaker.
	Success Outcome = iota
	// Failure counts towards tripping the breaker.
	Failure
	// Ignored changes no count that trips or closes the breaker, such as a
	// call cancelled by its own caller.
	Ignored
)

var outcomeNames = [...]string{"success", "failure", "ignored"}

// String returns the lowercase name of the outcome.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// TimeoutKind says what ran out of time. The zero value is
// KindProcessing, the original module's default.
type TimeoutKind uint8

const (
	// KindProcessing is a timeout of local work or of a dependency that
	// computes for too long.
	KindProcessing TimeoutKind = iota
	// KindNetwork is a timeout waiting on a remote peer.
	KindNetwork
)

// String returns "processing" or "network".
func (k TimeoutKind) String() string {
	switch k {
	case KindProcessing:
		return "processing"
	case KindNetwork:
		return "network"
	}
	return "timeoutkind(" + strconv.Itoa(int(k)) + ")"
}
