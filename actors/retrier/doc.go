// Package retrier holds Warden's retry policy: its Policy and presets, the
// pure backoff calculator and error classification, and the actor that
// owns the schedule of pending retries.
//
// Policy.Next is the whole decision. Given the attempt just made, its
// error, the previous delay, the current instant, the job's deadline and a
// random number, it says whether to retry and when, or why not. It reads no
// clock and starts no goroutine. It never retries more than MaxAttempts
// times in all, never plans a retry whose wait would pass the deadline, and
// never overflows, whatever the attempt number or durations.
//
// Errors are classified in this order: nil ends the job; Permanent(err) is
// never retried; an error matching NeverRetry is not retried; an error
// wrapped by RetryAfter is retried after the delay it asks for; otherwise
// it is retried when it matches RetryOn or RetryIf (or when neither is
// set). List entries match with errors.Is, and a typed nil pointer entry,
// such as (*net.OpError)(nil), matches with errors.As by type.
//
// Policies and the functions here are safe for concurrent use as long as
// the policy's predicate is.
//
// Actor is the retrier actor: it owns one schedule of pending retries,
// ordered by time, with a single timer for the earliest, and calls each
// retry's Due when its time comes. No retry holds a goroutine or a timer
// of its own. It runs in any protoactor system.
package retrier
