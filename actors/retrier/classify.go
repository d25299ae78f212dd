package retrier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"syscall"
	"time"

	"github.com/warden-go/warden/messages"
)

// permanentError marks an error that must never be retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that no policy retries it. The wrapper is
// transparent to errors.Is and errors.As. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool { return find[permanentError](err) != nil }

// find returns the first error of type *E in err's tree, as errors.As
// would, without the allocation of errors.As's target, since it runs for
// every failed attempt. At an error with an As method of its own it hands
// the search to errors.As.
func find[E any, P interface {
	*E
	error
}](err error) P {
	for err != nil {
		switch e := err.(type) {
		case P:
			return e
		case interface{ As(any) bool }:
			var t P
			if errors.As(err, &t) {
				return t
			}
			return nil
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if t := find[E, P](inner); t != nil {
					return t
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// retryAfterError asks for a retry after a delay, such as an HTTP 429's
// Retry-After.
type retryAfterError struct {
	delay time.Duration
	err   error
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.err, e.delay)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter wraps err to ask for the next attempt after d rather than after
// the backoff delay. The delay is honoured as long as it ends before the
// job's deadline; a negative d counts as zero. The wrapper is transparent to
// errors.Is and errors.As. RetryAfter(d, nil) is nil.
func RetryAfter(d time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{delay: max(d, 0), err: err}
}

// RequestedDelay returns the delay asked for with RetryAfter, if any.
func RequestedDelay(err error) (time.Duration, bool) {
	if r := find[retryAfterError](err); r != nil {
		return r.delay, true
	}
	return 0, false
}

// IsTransient reports whether err looks like a passing network or timeout
// fault that is worth retrying: a timeout (a net.Error whose Timeout is
// true, context.DeadlineExceeded, messages.ErrTimeout), a refused, reset,
// aborted or broken connection, or a connection cut short
// (io.ErrUnexpectedEOF). A caller's own cancellation is not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, messages.ErrTimeout) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, errno := range transientErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var transientErrnos = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
	syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
}

// matchAny reports whether err matches any of targets: with errors.Is, or,
// for a typed nil pointer target, with errors.As on that type.
func matchAny(err error, targets []error) bool {
	for _, t := range targets {
		if t == nil {
			continue
		}
		if errors.Is(err, t) {
			return true
		}
		v := reflect.ValueOf(t)
		if v.Kind() == reflect.Pointer && v.IsNil() {
			ptr := reflect.New(v.Type())
			if errors.As(err, ptr.Interface()) {
				return true
			}
		}
	}
	return false
}
