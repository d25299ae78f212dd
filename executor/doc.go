// Package executor is Warden's public API: it runs jobs against named
// dependencies, each protected by a timeout, retries with backoff, a
// circuit breaker and a bounded pool of workers, all owned by supervised
// actors.
//
// Users import this package alone: it re-exports the errors defined in
// package messages.
package executor
