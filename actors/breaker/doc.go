// Package breaker holds Warden's circuit breaker: its Policy and presets,
// the pure state Machine, the breaker actor that owns one Machine and
// publishes a View callers admit from without a message, and a
// standalone Breaker for programs that want only a circuit breaker.
//
// The Machine decides and never acts: it reads no clock, starts no goroutine
// and sends no message. Every method takes the current instant, and returns
// what changed as a Transition, so the same Machine runs in tests with
// explicit instants and in the actor with real time.
//
// The state machine is the classic one, CLOSED -> OPEN -> HALF_OPEN, with
// two manual states, ForcedOpen and Disabled:
//
//   - CLOSED admits calls and trips to OPEN on any rule the policy enables:
//     consecutive failures, failure rate or slow-call rate over a sliding
//     window (count-based or time-based) once it holds a minimum number of
//     calls.
//   - OPEN rejects until its open period has passed; the period may grow on
//     each re-open, up to a cap, with jitter.
//   - HALF_OPEN grants at most HalfOpenProbes permits at a time, closes after
//     SuccessesToClose probe successes and re-opens on a probe failure or on
//     a probe that does not report within MaxHalfOpenWait.
//
// Every permit carries the generation it was granted in; the generation
// moves on at each transition, and an outcome reported against an older
// generation changes nothing.
//
// A Machine is not safe for concurrent use: it has a single owner. Two
// owners are provided:
//
//   - Actor, a protoactor actor and its handle. Callers read its View and
//     decide with View.Admit (no message, no allocation); they hand
//     outcomes back with Actor.Report, which skips those that change
//     nothing (View.NeedsReport) and orders the rest by when their calls
//     ended; HALF_OPEN probe permits come from the actor (RequestProbe).
//     Warden's executor runs one per dependency.
//   - Breaker, a mutex around a Machine with gobreaker-style Execute and
//     the two-step Allow and Done, safe for concurrent use.
package breaker
