// Package config loads dependency policies from YAML or JSON files, with
// durations as text ("30s", "1m30s"), presets by name, retry lists by the
// name of a registered classifier, and overrides from environment
// variables.
//
//	dependencies:
//	  postgres:
//	    preset: database          # database, external-api, or none
//	    timeout: 5s
//	    retry: {max_attempts: 4, initial_delay: 50ms, retry_on: [network, timeout]}
//	    breaker: {failure_threshold: 5, open_timeout: 30s}
//	    pool: {workers: 16, queue: 256}
//
// A field the file leaves out keeps the preset's value. An environment
// variable WARDEN_<DEPENDENCY>_<FIELD> overrides a field: the
// dependency's name and the field's path in upper case, with every
// character but letters and digits turned into "_", such as
// WARDEN_POSTGRES_RETRY_MAX_ATTEMPTS=5. Every error matches
// executor.ErrInvalidPolicy and names the file, the line where the
// decoder gives one, and every bad field; unknown fields are errors.
package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
	"github.com/warden-go/warden/wardenhttp"
)

// File is a configuration file's content.
type File struct {
	Dependencies map[string]*Dependency `json:"dependencies" yaml:"dependencies"`
}

// Dependency is one dependency's policy as written in a file: a preset
// and the fields that differ from it.
type Dependency struct {
	Preset         string    `json:"preset,omitempty" yaml:"preset,omitempty"`
	Timeout        *Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	AttemptTimeout *Duration `json:"attempt_timeout,omitempty" yaml:"attempt_timeout,omitempty"`
	TimeoutKind    string    `json:"timeout_kind,omitempty" yaml:"timeout_kind,omitempty"`
	BreakerCounts  string    `json:"breaker_counts,omitempty" yaml:"breaker_counts,omitempty"`
	Retry          *Retry    `json:"retry,omitempty" yaml:"retry,omitempty"`
	Breaker        *Breaker  `json:"breaker,omitempty" yaml:"breaker,omitempty"`
	Pool           *Pool     `json:"pool,omitempty" yaml:"pool,omitempty"`
	Restart        *Restart  `json:"restart,omitempty" yaml:"restart,omitempty"`
	RetryBudget    *Budget   `json:"retry_budget,omitempty" yaml:"retry_budget,omitempty"`
}

// Retry is retrier.Policy as written in a file; RetryOn and NeverRetry
// name registered classifiers.
type Retry struct {
	MaxAttempts  *int      `json:"max_attempts,omitempty" yaml:"max_attempts,omitempty"`
	InitialDelay *Duration `json:"initial_delay,omitempty" yaml:"initial_delay,omitempty"`
	Multiplier   *float64  `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	MaxDelay     *Duration `json:"max_delay,omitempty" yaml:"max_delay,omitempty"`
	Jitter       string    `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	JitterFactor *float64  `json:"jitter_factor,omitempty" yaml:"jitter_factor,omitempty"`
	RetryOn      []string  `json:"retry_on,omitempty" yaml:"retry_on,omitempty"`
	NeverRetry   []string  `json:"never_retry,omitempty" yaml:"never_retry,omitempty"`
}

// Breaker is breaker.Policy as written in a file.
type Breaker struct {
	FailureThreshold      *int      `json:"failure_threshold,omitempty" yaml:"failure_threshold,omitempty"`
	FailureRateThreshold  *float64  `json:"failure_rate_threshold,omitempty" yaml:"failure_rate_threshold,omitempty"`
	SlowCallRateThreshold *float64  `json:"slow_call_rate_threshold,omitempty" yaml:"slow_call_rate_threshold,omitempty"`
	SlowCallDuration      *Duration `json:"slow_call_duration,omitempty" yaml:"slow_call_duration,omitempty"`
	MinimumCalls          *int      `json:"minimum_calls,omitempty" yaml:"minimum_calls,omitempty"`
	WindowSize            *int      `json:"window_size,omitempty" yaml:"window_size,omitempty"`
	WindowDuration        *Duration `json:"window_duration,omitempty" yaml:"window_duration,omitempty"`
	WindowBuckets         *int      `json:"window_buckets,omitempty" yaml:"window_buckets,omitempty"`
	OpenTimeout           *Duration `json:"open_timeout,omitempty" yaml:"open_timeout,omitempty"`
	OpenTimeoutMultiplier *float64  `json:"open_timeout_multiplier,omitempty" yaml:"open_timeout_multiplier,omitempty"`
	MaxOpenTimeout        *Duration `json:"max_open_timeout,omitempty" yaml:"max_open_timeout,omitempty"`
	OpenTimeoutJitter     *float64  `json:"open_timeout_jitter,omitempty" yaml:"open_timeout_jitter,omitempty"`
	HalfOpenProbes        *int      `json:"half_open_probes,omitempty" yaml:"half_open_probes,omitempty"`
	SuccessesToClose      *int      `json:"successes_to_close,omitempty" yaml:"successes_to_close,omitempty"`
	MaxHalfOpenWait       *Duration `json:"max_half_open_wait,omitempty" yaml:"max_half_open_wait,omitempty"`
}

// Pool is executor.Pool as written in a file.
type Pool struct {
	Workers *int `json:"workers,omitempty" yaml:"workers,omitempty"`
	Queue   *int `json:"queue,omitempty" yaml:"queue,omitempty"`
}

// Restart is supervisor.Policy as written in a file.
type Restart struct {
	MaxRestarts    *int      `json:"max_restarts,omitempty" yaml:"max_restarts,omitempty"`
	Window         *Duration `json:"window,omitempty" yaml:"window,omitempty"`
	InitialBackoff *Duration `json:"initial_backoff,omitempty" yaml:"initial_backoff,omitempty"`
	MaxBackoff     *Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`
	Multiplier     *float64  `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	Jitter         *float64  `json:"jitter,omitempty" yaml:"jitter,omitempty"`
}

// Budget is retrier.Budget as written in a file.
type Budget struct {
	Ratio     *float64  `json:"ratio,omitempty" yaml:"ratio,omitempty"`
	PerSecond *float64  `json:"per_second,omitempty" yaml:"per_second,omitempty"`
	Window    *Duration `json:"window,omitempty" yaml:"window,omitempty"`
}

// Duration is a time.Duration written as text, such as "1m30s".
type Duration time.Duration

// MarshalText writes d as time.Duration's String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a duration such as "30s"; a bare number is an
// error, since its unit would be a guess.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, such as 30s or 1m30s", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reads a duration such as "30s", naming the line of a bad
// one.
// A bad one is a *yaml.TypeError, so that decoding goes on and reports
// the file's other errors too.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration such as 30s", n.Line)}}
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	return nil
}

// UnmarshalJSON reads a duration from a JSON string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"30s\"", b)
	}
	return d.UnmarshalText([]byte(s))
}

// MarshalJSON writes d as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// A Classifier says whether an error is of a kind.
type Classifier func(error) bool

var (
	classifiersMu sync.RWMutex
	classifiers   = map[string]Classifier{
		"network": retrier.IsTransient,
		"timeout": func(err error) bool {
			return errors.Is(err, messages.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
		},
		"permanent": retrier.IsPermanent,
		"http-5xx":  func(err error) bool { return httpStatus(err) >= 500 },
		"http-429":  func(err error) bool { return httpStatus(err) == http.StatusTooManyRequests },
	}
)

// RegisterClassifier makes c usable by name in retry_on and never_retry
// lists; it replaces a classifier of the same name. The built-in ones are
// network (retrier.IsTransient), timeout (a *TimeoutError or a context
// deadline), permanent (retrier.Permanent), and http-5xx and http-429 (a
// *wardenhttp.StatusError with such a status).
func RegisterClassifier(name string, c Classifier) {
	classifiersMu.Lock()
	defer classifiersMu.Unlock()
	classifiers[name] = c
}

// httpStatus is the status of the *wardenhttp.StatusError in err, or 0.
func httpStatus(err error) int {
	var se *wardenhttp.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

func classifier(name string) (Classifier, bool) {
	classifiersMu.RLock()
	defer classifiersMu.RUnlock()
	c, ok := classifiers[name]
	return c, ok
}

// Load reads the file at path (YAML, or JSON when its name ends in
// .json) and applies the environment's overrides.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", messages.ErrInvalidPolicy, err)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := f.Override(os.Environ()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes data, named name (which says the format: .json for JSON,
// anything else YAML), and checks every dependency's policy.
func Parse(name string, data []byte) (*File, error) {
	var f File
	if strings.EqualFold(filepath.Ext(name), ".json") {
		// Valid JSON is YAML: once its syntax is checked, the YAML
		// decoder reads it, with the same errors and lines.
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", messages.ErrInvalidPolicy, name, jsonPosition(data, err))
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%w: %s: %w", messages.ErrInvalidPolicy, name, err)
		}
		// Unknown fields and bad values: the decoder went on, and
		// what it could read is checked too.
		for _, e := range te.Errors {
			errs = append(errs, fmt.Errorf("%w: %s", messages.ErrInvalidPolicy, e))
		}
	}
	if _, err := f.Policies(); err != nil {
		errs = append(errs, err)
	}
	if err := prefixEach(name, errors.Join(errs...)); err != nil {
		return nil, err
	}
	return &f, nil
}

// prefixEach puts prefix before every error joined in err, so that each
// line of the message names the file.
func prefixEach(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range policyerr.Flatten(err) {
		out = append(out, fmt.Errorf("%s: %w", prefix, e))
	}
	return errors.Join(out...)
}

// jsonPosition adds the line of a JSON syntax or type error.
func jsonPosition(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

// Policies returns every dependency's executor.Policy, or an error that
// names every bad field of every dependency.
func (f *File) Policies() (map[string]executor.Policy, error) {
	out := map[string]executor.Policy{}
	var errs []error
	for _, name := range f.names() {
		p, err := f.Dependencies[name].Policy()
		if err != nil {
			for _, e := range policyerr.Flatten(err) {
				errs = append(errs, fmt.Errorf("dependency %q: %w", name, e))
			}
			continue
		}
		out[name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Options returns an executor.WithDependency option per dependency.
func (f *File) Options() ([]executor.Option, error) {
	ps, err := f.Policies()
	if err != nil {
		return nil, err
	}
	var opts []executor.Option
	for _, name := range f.names() {
		opts = append(opts, executor.WithDependency(name, ps[name]))
	}
	return opts, nil
}

func (f *File) names() []string {
	names := make([]string, 0, len(f.Dependencies))
	for n := range f.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// YAML writes f as YAML, which Parse reads back to the same File.
func (f *File) YAML() ([]byte, error) { return yaml.Marshal(f) }

// JSON writes f as indented JSON, which Parse reads back to the same File.
func (f *File) JSON() ([]byte, error) { return json.MarshalIndent(f, "", "  ") }

// fieldError is a bad field of a file, by its path in the file.
func fieldError(path string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", messages.ErrInvalidPolicy, path, fmt.Sprintf(format, args...))
}

// Policy builds d's executor.Policy: the preset, then d's fields; then
// it validates it. The error names every bad field.
func (d *Dependency) Policy() (executor.Policy, error) {
	var errs []error
	bad := func(path, format string, args ...any) { errs = append(errs, fieldError(path, format, args...)) }
	var p executor.Policy
	switch d.Preset {
	case "", "none":
	case "database":
		p = executor.DatabasePolicy()
	case "external-api":
		p = executor.ExternalAPIPolicy()
	default:
		bad("preset", "unknown preset %q (want database, external-api or none)", d.Preset)
	}
	setD(&p.Timeout, d.Timeout)
	setD(&p.AttemptTimeout, d.AttemptTimeout)
	switch d.TimeoutKind {
	case "":
	case "processing":
		p.TimeoutKind = executor.KindProcessing
	case "network":
		p.TimeoutKind = executor.KindNetwork
	default:
		bad("timeout_kind", "unknown kind %q (want processing or network)", d.TimeoutKind)
	}
	switch d.BreakerCounts {
	case "":
	case "per-attempt":
		p.BreakerCounts = executor.PerAttempt
	case "per-job":
		p.BreakerCounts = executor.PerJob
	default:
		bad("breaker_counts", "unknown value %q (want per-attempt or per-job)", d.BreakerCounts)
	}
	if r := d.Retry; r != nil {
		set(&p.Retry.MaxAttempts, r.MaxAttempts)
		setD(&p.Retry.InitialDelay, r.InitialDelay)
		set(&p.Retry.Multiplier, r.Multiplier)
		setD(&p.Retry.MaxDelay, r.MaxDelay)
		set(&p.Retry.JitterFactor, r.JitterFactor)
		if r.Jitter != "" {
			j, ok := jitterByName[r.Jitter]
			if !ok {
				bad("retry.jitter", "unknown jitter %q (want full, none, equal, decorrelated or proportional)", r.Jitter)
			}
			p.Retry.Jitter = j
		}
		on, err := classifierList("retry.retry_on", r.RetryOn)
		errs = append(errs, err...)
		never, err := classifierList("retry.never_retry", r.NeverRetry)
		errs = append(errs, err...)
		if len(on) > 0 || len(never) > 0 {
			p.Retry.RetryIf = retryIf(on, never)
		}
	}
	if b := d.Breaker; b != nil {
		set(&p.Breaker.FailureThreshold, b.FailureThreshold)
		set(&p.Breaker.FailureRateThreshold, b.FailureRateThreshold)
		set(&p.Breaker.SlowCallRateThreshold, b.SlowCallRateThreshold)
		setD(&p.Breaker.SlowCallDuration, b.SlowCallDuration)
		set(&p.Breaker.MinimumCalls, b.MinimumCalls)
		set(&p.Breaker.WindowSize, b.WindowSize)
		setD(&p.Breaker.WindowDuration, b.WindowDuration)
		set(&p.Breaker.WindowBuckets, b.WindowBuckets)
		setD(&p.Breaker.OpenTimeout, b.OpenTimeout)
		set(&p.Breaker.OpenTimeoutMultiplier, b.OpenTimeoutMultiplier)
		setD(&p.Breaker.MaxOpenTimeout, b.MaxOpenTimeout)
		set(&p.Breaker.OpenTimeoutJitter, b.OpenTimeoutJitter)
		set(&p.Breaker.HalfOpenProbes, b.HalfOpenProbes)
		set(&p.Breaker.SuccessesToClose, b.SuccessesToClose)
		setD(&p.Breaker.MaxHalfOpenWait, b.MaxHalfOpenWait)
	}
	if pl := d.Pool; pl != nil {
		set(&p.Pool.Workers, pl.Workers)
		set(&p.Pool.Queue, pl.Queue)
	}
	if r := d.Restart; r != nil {
		set(&p.Restart.MaxRestarts, r.MaxRestarts)
		setD(&p.Restart.Window, r.Window)
		setD(&p.Restart.InitialBackoff, r.InitialBackoff)
		setD(&p.Restart.MaxBackoff, r.MaxBackoff)
		set(&p.Restart.Multiplier, r.Multiplier)
		set(&p.Restart.Jitter, r.Jitter)
	}
	if b := d.RetryBudget; b != nil {
		var rb retrier.Budget
		set(&rb.Ratio, b.Ratio)
		set(&rb.PerSecond, b.PerSecond)
		setD(&rb.Window, b.Window)
		p.RetryBudget = &rb
	}
	if err := p.Validate(); err != nil {
		// Name each field as the file does: Pool.Workers is pool.workers.
		for _, e := range policyerr.Flatten(err) {
			var pe *messages.PolicyError
			if errors.As(e, &pe) {
				e = fmt.Errorf("%s: %w", fileField(pe.Field), e)
			}
			errs = append(errs, e)
		}
	}
	return p, errors.Join(errs...)
}

// fileField is a policy field's name in a file: each part of the Go path
// in snake case.
func fileField(goPath string) string {
	parts := strings.Split(goPath, ".")
	for i, p := range parts {
		var b strings.Builder
		for j, r := range p {
			if r >= 'A' && r <= 'Z' {
				if j > 0 {
					b.WriteByte('_')
				}
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, ".")
}

var jitterByName = map[string]retrier.Jitter{}

func init() {
	for j := retrier.FullJitter; j <= retrier.ProportionalJitter; j++ {
		jitterByName[j.String()] = j
	}
}

func classifierList(path string, names []string) ([]Classifier, []error) {
	var cs []Classifier
	var errs []error
	for i, n := range names {
		c, ok := classifier(n)
		if !ok {
			errs = append(errs, fieldError(fmt.Sprintf("%s[%d]", path, i), "unknown classifier %q", n))
			continue
		}
		cs = append(cs, c)
	}
	return cs, errs
}

// retryIf retries an error some classifier of on matches (any, when on
// is empty) and none of never does.
func retryIf(on, never []Classifier) func(error) bool {
	return func(err error) bool {
		for _, c := range never {
			if c(err) {
				return false
			}
		}
		if len(on) == 0 {
			return true
		}
		for _, c := range on {
			if c(err) {
				return true
			}
		}
		return false
	}
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setD(dst *time.Duration, v *Duration) {
	if v != nil {
		*dst = time.Duration(*v)
	}
}

// Override applies the WARDEN_<DEPENDENCY>_<FIELD> variables of environ
// (as os.Environ gives them) to f's dependencies, and checks the result.
// A variable that names a dependency of the file but no field of it, or
// has a bad value, is an error; one that names no dependency of the file
// is left alone, as the environment holds other programs' variables.
func (f *File) Override(environ []string) error {
	byPrefix := map[string]string{}
	for name := range f.Dependencies {
		byPrefix["WARDEN_"+envName(name)+"_"] = name
	}
	var errs []error
	for _, kv := range environ {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, "WARDEN_") {
			continue
		}
		dep, field, best := "", "", 0
		for prefix, name := range byPrefix { // the longest prefix: "db" and "db-replica" both match WARDEN_DB_REPLICA_...
			if strings.HasPrefix(key, prefix) && len(prefix) > best {
				dep, field, best = name, strings.TrimPrefix(key, prefix), len(prefix)
			}
		}
		if dep == "" {
			continue
		}
		if err := setEnv(reflect.ValueOf(f.Dependencies[dep]).Elem(), field, val); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", messages.ErrInvalidPolicy, key, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := f.Policies()
	return prefixEach("after the environment's overrides", err)
}

// envName is name as it appears in a variable's name.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// setEnv sets the field of v (a struct) whose upper-cased yaml path is
// field to val.
func setEnv(v reflect.Value, field, val string) error {
	// The longest name that fits wins: RETRY_BUDGET_RATIO is
	// retry_budget.ratio, not retry.budget_ratio.
	t := v.Type()
	best, bestKey := -1, ""
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		key := envName(tag)
		fv := v.Field(i)
		nested := fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct
		if (field == key && !nested) || (nested && strings.HasPrefix(field, key+"_")) {
			if len(key) > len(bestKey) {
				best, bestKey = i, key
			}
		}
	}
	if best < 0 {
		return errors.New("no such field")
	}
	fv := v.Field(best)
	if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		return setEnv(fv.Elem(), strings.TrimPrefix(field, bestKey+"_"), val)
	}
	return setText(fv, val)
}

var durationType = reflect.TypeOf(Duration(0))

// setText sets fv from its text form.
func setText(fv reflect.Value, val string) error {
	switch {
	case fv.Kind() == reflect.String:
		fv.SetString(val)
		return nil
	case fv.Kind() == reflect.Slice:
		var list []string
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		fv.Set(reflect.ValueOf(list))
		return nil
	case fv.Kind() != reflect.Pointer:
		return errors.New("not settable from the environment")
	}
	nv := reflect.New(fv.Type().Elem())
	switch {
	case fv.Type().Elem() == durationType:
		if err := nv.Interface().(*Duration).UnmarshalText([]byte(val)); err != nil {
			return err
		}
	case fv.Type().Elem().Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		nv.Elem().SetInt(int64(n))
	case fv.Type().Elem().Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", val)
		}
		nv.Elem().SetFloat(x)
	default:
		return errors.New("not settable from the environment")
	}
	fv.Set(nv)
	return nil
}
