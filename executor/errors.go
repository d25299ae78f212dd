package executor

import "github.com/warden-go/warden/messages"

// The errors Warden returns, re-exported from package messages so users
// import executor alone. All work with errors.Is and errors.As.
var (
	ErrTimeout           = messages.ErrTimeout
	ErrProcessingTimeout = messages.ErrProcessingTimeout
	ErrNetworkTimeout    = messages.ErrNetworkTimeout
	ErrCircuitOpen       = messages.ErrCircuitOpen
	ErrRejected          = messages.ErrRejected
	ErrRetriesExhausted  = messages.ErrRetriesExhausted
	// ErrRetryBudgetExhausted: see messages.ErrRetryBudgetExhausted.
	ErrRetryBudgetExhausted = messages.ErrRetryBudgetExhausted
	ErrPanic                = messages.ErrPanic
	ErrUnknownDependency    = messages.ErrUnknownDependency
	ErrShutdown             = messages.ErrShutdown
	ErrDependencyDown       = messages.ErrDependencyDown
	ErrInvalidPolicy        = messages.ErrInvalidPolicy
	ErrInvalidJob           = messages.ErrInvalidJob
)

// Error types, re-exported from package messages.
type (
	TimeoutError     = messages.TimeoutError
	CircuitOpenError = messages.CircuitOpenError
	RetryError       = messages.RetryError
	PanicError       = messages.PanicError
	PolicyError      = messages.PolicyError
)

// State is a circuit breaker's state.
type State = messages.State

// Breaker states, re-exported from package messages.
const (
	Closed     = messages.Closed
	Open       = messages.Open
	HalfOpen   = messages.HalfOpen
	ForcedOpen = messages.ForcedOpen
	Disabled   = messages.Disabled
)

// TimeoutKind says what kind of timeout a dependency's timeouts are.
type TimeoutKind = messages.TimeoutKind

// Timeout kinds.
const (
	KindProcessing = messages.KindProcessing
	KindNetwork    = messages.KindNetwork
)
