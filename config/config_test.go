package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/messages"
	"github.com/warden-go/warden/wardenhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parseFile(t *testing.T, name string) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	f, err := Parse(name, data)
	require.NoError(t, err)
	return f
}

// A file with every field gives the policy those fields say, on top of
// its preset; the JSON file with the same content gives the same.
func TestEveryField(t *testing.T) {
	f := parseFile(t, "full.yaml")
	require.Equal(t, f, parseFile(t, "full.json"), "YAML and JSON say the same")
	ps, err := f.Policies()
	require.NoError(t, err)
	pg := ps["postgres"]
	require.NotNil(t, pg.Retry.RetryIf)
	pg.Retry.RetryIf = nil // the lists' (tested below), in place of the preset's
	want := executor.DatabasePolicy()
	want.Retry.RetryIf = nil
	want.Timeout, want.AttemptTimeout, want.TimeoutKind, want.BreakerCounts = 5*time.Second, time.Second, executor.KindNetwork, executor.PerJob
	want.Retry.MaxAttempts, want.Retry.InitialDelay, want.Retry.Multiplier, want.Retry.MaxDelay = 4, 50*time.Millisecond, 3, 2*time.Second
	want.Retry.Jitter, want.Retry.JitterFactor = retrier.ProportionalJitter, 0.25
	b := &want.Breaker
	b.FailureThreshold, b.FailureRateThreshold, b.SlowCallRateThreshold, b.SlowCallDuration = 5, 0.5, 0.8, 500*time.Millisecond
	b.MinimumCalls, b.WindowSize, b.WindowDuration, b.WindowBuckets = 20, 100, time.Minute, 6
	b.OpenTimeout, b.OpenTimeoutMultiplier, b.MaxOpenTimeout, b.OpenTimeoutJitter = 30*time.Second, 2, 5*time.Minute, 0.1
	b.HalfOpenProbes, b.SuccessesToClose, b.MaxHalfOpenWait = 2, 2, 10*time.Second
	want.Pool = executor.Pool{Workers: 16, Queue: 256}
	r := &want.Restart
	r.MaxRestarts, r.Window, r.InitialBackoff, r.MaxBackoff, r.Multiplier, r.Jitter = 5, time.Minute, 20*time.Millisecond, 2*time.Second, 3, 0.2
	want.RetryBudget = &retrier.Budget{Ratio: 0.1, PerSecond: 5, Window: 20 * time.Second}
	assert.Equal(t, want, pg)
	api, wantAPI := ps["payments"], executor.ExternalAPIPolicy()
	require.NotNil(t, api.Retry.RetryIf)
	api.Retry.RetryIf, wantAPI.Retry.RetryIf = nil, nil // functions do not compare
	assert.Equal(t, wantAPI, api, "a preset alone")

	opts, err := f.Options()
	require.NoError(t, err)
	ex, err := executor.New(append(opts, executor.WithMeterProvider(nil))...)
	require.NoError(t, err)
	_, err = ex.Dependency("postgres")
	assert.NoError(t, err)
	require.NoError(t, ex.Shutdown(context.Background()))
}

// A policy round-trips: load, dump, load gives the same file, in YAML
// and in JSON.
func TestRoundTrip(t *testing.T) {
	f := parseFile(t, "full.yaml")
	y, err := f.YAML()
	require.NoError(t, err)
	again, err := Parse("dumped.yaml", y)
	require.NoError(t, err)
	assert.Equal(t, f, again)
	j, err := f.JSON()
	require.NoError(t, err)
	again, err = Parse("dumped.json", j)
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

// The retry lists pick errors by classifier: retry_on [network, timeout,
// http-5xx] and never_retry [permanent], and a classifier of the user's.
func TestClassifiers(t *testing.T) {
	ps, err := parseFile(t, "full.yaml").Policies()
	require.NoError(t, err)
	retry := ps["postgres"].Retry.RetryIf
	assert.True(t, retry(&wardenhttp.StatusError{StatusCode: 503}))
	assert.False(t, retry(&wardenhttp.StatusError{StatusCode: 404}))
	assert.True(t, retry(&messages.TimeoutError{}))
	assert.True(t, retry(context.DeadlineExceeded))
	assert.False(t, retry(errors.New("bad request")))
	assert.False(t, retry(retrier.Permanent(&wardenhttp.StatusError{StatusCode: 503})), "never_retry wins")

	errOverdrawn := errors.New("account overdrawn")
	RegisterClassifier("overdrawn", func(err error) bool { return errors.Is(err, errOverdrawn) })
	f, err := Parse("mine.yaml", []byte("dependencies:\n  bank:\n    retry: {never_retry: [overdrawn]}\n"))
	require.NoError(t, err)
	ps, err = f.Policies()
	require.NoError(t, err)
	assert.False(t, ps["bank"].Retry.RetryIf(errOverdrawn))
	assert.True(t, ps["bank"].Retry.RetryIf(errors.New("anything else")))
}

// Each bad input gets an error that matches ErrInvalidPolicy, names the
// file, the line where the decoder gives one, and every bad field.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             []string
	}{
		{"unknown field", "a.yaml", "dependencies:\n  db:\n    timeout: 1s\n    retries: 3\n",
			[]string{"a.yaml", "line 4", "retries"}},
		{"duration without a unit", "b.yaml", "dependencies:\n  db:\n    timeout: 30\n",
			[]string{"b.yaml", "line 3", "30", "unit"}},
		{"unknown preset, jitter and classifier", "c.yaml",
			"dependencies:\n  db:\n    preset: postgres\n    retry: {jitter: wild, retry_on: [network, sometimes]}\n",
			[]string{"c.yaml", `"db"`, "preset", "retry.jitter", "retry.retry_on[1]", "sometimes"}},
		{"invalid values", "d.yaml", "dependencies:\n  db:\n    pool: {workers: -1}\n    breaker: {failure_threshold: -2}\n",
			[]string{"d.yaml", `"db"`, "Pool.Workers", "Breaker.FailureThreshold"}},
		{"every error of a file, each naming it", "m.yaml",
			"dependencies:\n  db:\n    preset: databse\n    timeout: 30\n    colour: red\n    pool: {workers: -4}\n",
			[]string{"m.yaml: warden: invalid policy: line 4", "m.yaml: warden: invalid policy: line 5: field colour",
				`m.yaml: dependency "db": warden: invalid policy: preset`, `m.yaml: dependency "db": pool.workers`}},
		{"every dependency's fields", "e.yaml", "dependencies:\n  a:\n    timeout_kind: slow\n  b:\n    breaker_counts: sometimes\n",
			[]string{`"a"`, "timeout_kind", `"b"`, "breaker_counts"}},
		{"JSON syntax", "f.json", "{\"dependencies\": {\n  \"db\": {\"timeout\": \"1s\",}\n}}",
			[]string{"f.json", "line 2"}},
		{"JSON unknown field", "g.json", `{"dependencies": {"db": {"workers": 3}}}`,
			[]string{"g.json", "workers"}},
		{"JSON duration as a number", "h.json", "{\"dependencies\": {\"db\": {\"timeout\": 30}}}",
			[]string{"h.json", "line 1", "duration", "30s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file, []byte(tc.data))
			require.Error(t, err)
			assert.ErrorIs(t, err, executor.ErrInvalidPolicy)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// Environment variables override fields, on top of the file; one for no
// dependency, for no field, or with a bad value is an error.
func TestEnvironmentOverrides(t *testing.T) {
	f, err := Parse("env.yaml", []byte("dependencies:\n  db:\n    preset: database\n  db-replica:\n    timeout: 2s\n"))
	require.NoError(t, err)
	require.NoError(t, f.Override([]string{
		"PATH=/bin",
		"WARDEN_DB_TIMEOUT=7s",
		"WARDEN_DB_RETRY_MAX_ATTEMPTS=9",
		"WARDEN_DB_RETRY_RETRY_ON=network, timeout",
		"WARDEN_DB_REPLICA_POOL_WORKERS=3",
		"WARDEN_DB_RETRY_BUDGET_RATIO=0.5",
		"WARDEN_DB_RETRY_BUDGET_WINDOW=30s",
		"WARDEN_CACHE_TIMEOUT=1s",                  // no such dependency here: another program's
		"WARDEN_PG_BIN=/usr/lib/postgresql/15/bin", // the tests' own variables too
	}))
	ps, err := f.Policies()
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, ps["db"].Timeout)
	assert.Equal(t, 9, ps["db"].Retry.MaxAttempts)
	assert.Equal(t, []string{"network", "timeout"}, f.Dependencies["db"].Retry.RetryOn)
	assert.Equal(t, 3, ps["db-replica"].Pool.Workers, "the longer name wins")
	assert.Equal(t, 2*time.Second, ps["db-replica"].Timeout)
	assert.Equal(t, &retrier.Budget{Ratio: 0.5, Window: 30 * time.Second}, ps["db"].RetryBudget, "retry_budget, not retry")

	for _, bad := range []string{"WARDEN_DB_TIMEOUTS=1s", "WARDEN_DB_TIMEOUT=soon", "WARDEN_DB_POOL_WORKERS=-4"} {
		f, err := Parse("env.yaml", []byte("dependencies:\n  db: {}\n"))
		require.NoError(t, err)
		err = f.Override([]string{bad})
		require.Error(t, err, bad)
		assert.ErrorIs(t, err, executor.ErrInvalidPolicy, bad)
	}
}

// Load reads a file by its extension and applies the environment.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "warden.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"dependencies": {"api": {"preset": "external-api"}}}`), 0o600))
	t.Setenv("WARDEN_API_TIMEOUT", "3s")
	f, err := Load(path)
	require.NoError(t, err)
	ps, err := f.Policies()
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, ps["api"].Timeout)

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	assert.ErrorIs(t, err, executor.ErrInvalidPolicy)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
