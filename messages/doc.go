// Package messages holds Warden's shared vocabulary: the enums that describe
// a breaker's state, an outcome and a timeout's kind, and every error value
// and type that Warden returns.
//
// The package depends on the standard library only, so every other package
// (the pure cores under actors/ and the executor) can share it without
// importing each other. The executor re-exports the errors, so users normally
// import executor alone.
//
// All errors work with errors.Is and errors.As:
//
//   - *TimeoutError matches ErrTimeout, context.DeadlineExceeded and the
//     sentinel of its kind (ErrProcessingTimeout or ErrNetworkTimeout).
//   - *CircuitOpenError matches ErrCircuitOpen.
//   - *RetryError matches ErrRetriesExhausted and unwraps to the last error.
//   - *PanicError matches ErrPanic.
//   - *PolicyError matches ErrInvalidPolicy; validation joins one per bad
//     field with errors.Join.
//
// Values of these types are immutable once returned and safe to share
// between goroutines.
package messages
