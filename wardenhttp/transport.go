// Package wardenhttp runs HTTP requests as Warden jobs: an
// http.RoundTripper that gives each request its dependency's timeout,
// retries, breaker and pool.
//
//	api, _ := ex.Dependency("payments")
//	client := wardenhttp.Client(api, nil)
//	resp, err := client.Get("https://payments.internal/health")
//
// By default 408, 429, 502, 503 and 504 responses and transport errors
// are retried, as the dependency's retry policy allows (a policy that
// selects errors, such as retrier.Standard(), must accept them: see
// Retryable), with the
// server's Retry-After (seconds or an HTTP date) as the delay when it
// sends one; other responses end the request at once. Only requests
// whose body can be had again (Request.GetBody, which http.NewRequest
// sets for in-memory bodies), and idempotent ones without a body, are
// retried; the body is sent again on each attempt. A retried
// response's body is drained and closed. A response that is not to be
// retried (any status but those, or any status for a request that cannot
// be retried) is returned to the caller as a response, not an error; one
// with a retryable status whose retry does not happen after all (retries
// exhausted, the deadline near, the breaker open) ends the request with
// an error holding a *StatusError. 5xx responses count as the
// dependency's failures, others as successes (a 4xx means the request
// was wrong, not the dependency).
package wardenhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// Verdict is what a Classifier makes of one attempt's response.
type Verdict uint8

const (
	// Success: the response is the answer; the breaker counts a success.
	Success Verdict = iota
	// Retry: retry if the request and the policy allow; the breaker
	// counts a failure.
	Retry
	// Fail: the response is the answer, but the breaker counts a failure.
	Fail
)

// A Classifier says what a response means. The transport errors are
// always retryable (for idempotent requests).
type Classifier func(resp *http.Response) Verdict

// DefaultClassifier retries 408, 429, 502, 503 and 504, counts the other
// 5xx as failures and everything else as a success.
func DefaultClassifier(resp *http.Response) Verdict {
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return Retry
	}
	if resp.StatusCode >= 500 {
		return Fail
	}
	return Success
}

// StatusError is the error of an attempt whose response was retried, or
// of a request whose last response had a retryable status and could not
// be retried: its status, its headers and the start of its body (which
// was drained and closed).
type StatusError struct {
	StatusCode int
	Header     http.Header
	Body       []byte // at most the first 4 KiB
	// RetryAfter is the server's Retry-After, if it sent one.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("wardenhttp: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Body) > 0 {
		msg += ": " + strings.TrimSpace(string(e.Body[:min(len(e.Body), 200)]))
	}
	return msg
}

// Retryable reports whether err is one the transport retries: a
// *StatusError (a retryable status), or a transport error that
// retrier.IsTransient knows. A dependency whose retry policy selects
// errors (RetryIf, RetryOn, such as retrier.Standard's IsTransient)
// retries statuses only if it accepts these: set its RetryIf to
// Retryable, or add to it.
func Retryable(err error) bool {
	var se *StatusError
	return errors.As(err, &se) || retrier.IsTransient(err)
}

// ErrNoDependency is the error of a request for a host with no
// dependency, with PerHost.
var ErrNoDependency = errors.New("wardenhttp: no dependency for the request's host")

// Transport is an http.RoundTripper that runs each request as a job of
// a Warden dependency. It is safe for concurrent use.
type Transport struct {
	base     http.RoundTripper
	dep      func(*http.Request) (*executor.Dependency, error)
	classify Classifier
}

// An Option configures a Transport.
type Option func(*Transport)

// WithClassifier makes c the transport's classifier.
func WithClassifier(c Classifier) Option { return func(t *Transport) { t.classify = c } }

// PerHost runs each request as a job of the dependency named after its
// host (as in Request.URL.Host, with the port), registering it with
// policy on its first request; the dependency given to NewTransport is
// then ignored and may be nil.
func PerHost(ex *executor.Executor, policy executor.Policy) Option {
	var mu sync.Mutex
	return func(t *Transport) {
		t.dep = func(req *http.Request) (*executor.Dependency, error) {
			host := req.URL.Host
			if host == "" {
				return nil, ErrNoDependency
			}
			if d, err := ex.Dependency(host); err == nil {
				return d, nil
			}
			mu.Lock()
			defer mu.Unlock()
			if d, err := ex.Dependency(host); err == nil {
				return d, nil
			}
			if err := ex.Register(host, policy); err != nil {
				return nil, err
			}
			return ex.Dependency(host)
		}
	}
}

// NewTransport returns a transport that sends requests with base (nil:
// http.DefaultTransport) as jobs of dep.
func NewTransport(dep *executor.Dependency, base http.RoundTripper, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{base: base, classify: DefaultClassifier,
		dep: func(*http.Request) (*executor.Dependency, error) {
			if dep == nil {
				return nil, fmt.Errorf("%w: nil dependency", executor.ErrInvalidJob)
			}
			return dep, nil
		}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Client returns an http.Client whose transport is NewTransport(dep,
// base, opts...).
func Client(dep *executor.Dependency, base http.RoundTripper, opts ...Option) *http.Client {
	return &http.Client{Transport: NewTransport(dep, base, opts...)}
}

// final carries the response that ends a request out of the job: the
// job fails (for the breaker) but the caller gets the response.
type final struct {
	resp *http.Response
	err  error // what the job reports
}

func (f *final) Error() string { return f.err.Error() }
func (f *final) Unwrap() error { return f.err }

// RoundTrip runs req as a job of its dependency.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	dep, err := t.dep(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// Retried: a request whose body can be had again, and an idempotent
	// one without a body.
	noBody := req.Body == nil || req.Body == http.NoBody
	retryable := req.GetBody != nil || (noBody && idempotent(req))
	var attempts atomic.Int32
	var out outstanding
	resp, err := executor.Call(req.Context(), dep, func(actx context.Context) (*http.Response, error) {
		r, err := t.attempt(actx, req, int(attempts.Add(1)), retryable)
		if err != nil && !retryable {
			err = retrier.Permanent(err)
		}
		var f *final
		if errors.As(err, &f) {
			r = f.resp
		}
		if r != nil && !out.add(r) {
			r.Body.Close() // the request ended without it
		}
		return r, err
	})
	if err != nil {
		var f *final
		if errors.As(err, &f) {
			resp = f.resp
			err = nil
		}
	}
	// Any other response an attempt made (one that came as its attempt
	// timed out, say) is nobody's: close it.
	out.settle(resp)
	if err != nil {
		if attempts.Load() == 0 {
			closeBody(req) // never sent
		}
		return nil, err
	}
	return resp, nil
}

// outstanding keeps the responses a request's attempts made, so that the
// ones the caller does not get are closed, even one that an attempt
// produced after the request ended.
type outstanding struct {
	mu      sync.Mutex
	done    bool
	pending []*http.Response
}

// add keeps r; it reports false once the request has ended.
func (o *outstanding) add(r *http.Response) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return false
	}
	o.pending = append(o.pending, r)
	return true
}

// settle ends the request, whose caller gets kept (or nil), and closes
// every other response.
func (o *outstanding) settle(kept *http.Response) {
	o.mu.Lock()
	o.done = true
	pending := o.pending
	o.pending = nil
	o.mu.Unlock()
	for _, r := range pending {
		if r != kept {
			r.Body.Close()
		}
	}
}

// attempt sends one attempt of req. Its response outlives actx, the
// attempt's context, which ends when the attempt does: the request runs
// under a context of its own, ended by actx while the attempt runs and
// by the caller's context or the body's Close after.
func (t *Transport) attempt(actx context.Context, req *http.Request, n int, retryable bool) (*http.Response, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(actx))
	stopAttempt := context.AfterFunc(actx, cancel)
	stopCaller := context.AfterFunc(req.Context(), cancel)
	release := func() { stopAttempt(); stopCaller(); cancel() }

	out := req.Clone(ctx)
	if n > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			release()
			return nil, retrier.Permanent(fmt.Errorf("wardenhttp: replaying the body: %w", err))
		}
		out.Body = body
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		release()
		return nil, err
	}
	if actx.Err() != nil {
		// The attempt ended (its deadline, the caller, shutdown) while
		// the response came: nobody will read it.
		resp.Body.Close()
		release()
		return nil, actx.Err()
	}
	verdict := t.classify(resp)
	if verdict == Retry && !retryable {
		verdict = Fail // the caller gets the response
	}
	switch verdict {
	case Success:
		stopAttempt() // the caller reads the body after the attempt
		resp.Body = &bodyCloser{ReadCloser: resp.Body, done: func() { stopCaller(); cancel() }}
		return resp, nil
	case Fail:
		stopAttempt()
		resp.Body = &bodyCloser{ReadCloser: resp.Body, done: func() { stopCaller(); cancel() }}
		se := &StatusError{StatusCode: resp.StatusCode, Header: resp.Header}
		return nil, retrier.Permanent(&final{resp: resp, err: se})
	}
	// Retry: keep the start of the body for the error, drain the rest so
	// the connection can be reused, and close it.
	se := &StatusError{StatusCode: resp.StatusCode, Header: resp.Header}
	se.Body, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	resp.Body.Close()
	release()
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		se.RetryAfter = d
		return nil, retrier.RetryAfter(d, se)
	}
	return nil, se
}

// bodyCloser ends the request's context when the body is closed.
type bodyCloser struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *bodyCloser) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date, which gives the delay from now (zero if past).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// idempotent reports whether req's method may be sent twice.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
