// Package breaker holds Warden's circuit breaker: its Policy and presets,
// the pure state Machine, and (in the executor's wiring) the actor that owns
// one Machine per dependency.
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
// A Machine is not safe for concurrent use: it has a single owner.
package breaker
