// Package supervisor decides what happens when one of a dependency's actors
// crashes: restart it after a backoff, or escalate because it crashed too
// often.
//
// The rule is Erlang/OTP's restart intensity: at most MaxRestarts crashes
// within any Window are restarted; one more escalates. Restart delays grow
// exponentially (a real exponential, unlike protoactor's linear strategy)
// from InitialBackoff by Multiplier up to MaxBackoff, spread by Jitter.
//
// Intensity is the pure decision: it keeps the crash history, takes the
// current instant and a random number, and returns a Decision. It is not
// safe for concurrent use; the supervisor actor owns one per child.
package supervisor
