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
// safe for concurrent use.
//
// Supervisor is the supervising protoactor actor built on it: it spawns
// its child actors, restarts them after the decided delay while the
// crashes of all its children stay within the intensity (they share it,
// as an OTP supervisor's children do), and past it escalates: it tells
// its owner and stops every child. Children that are not actors, such as
// worker goroutines, report their crashes with Supervisor.Crashed and are
// restarted by a function of their own.
package supervisor
