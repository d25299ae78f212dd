package executor

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logRecord is one log record as a handler got it.
type logRecord struct {
	ctx   context.Context
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// recorder is a slog handler that keeps every record at or above min.
type recorder struct {
	min     slog.Level
	mu      sync.Mutex
	records []logRecord
}

func (h *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *recorder) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{ctx: ctx, level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value; return true })
	h.mu.Lock()
	h.records = append(h.records, rec)
	h.mu.Unlock()
	return nil
}

func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

// with returns the records with message msg.
func (h *recorder) with(msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range h.records {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// A job that ends in an error is logged at debug level with its outcome,
// attempts, duration and error, under the caller's context; a success is
// not logged.
func TestFailedJobsAreLoggedAtDebug(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h := &recorder{min: slog.LevelDebug}
		ex := start(t, WithLogger(slog.New(h)), WithDependency("db", fast()))
		ctx := context.WithValue(context.Background(), ctxKey("trace"), "trace-me")
		_, err := Do(ctx, ex, "db", fail, Operation("select"))
		require.ErrorIs(t, err, errBoom)
		_, err = Do(ctx, ex, "db", ok(1))
		require.NoError(t, err)

		recs := h.with("warden: job failed")
		require.Len(t, recs, 1)
		r := recs[0]
		assert.Equal(t, slog.LevelDebug, r.level)
		assert.Equal(t, "trace-me", r.ctx.Value(ctxKey("trace")), "the caller's context reaches the handler")
		assert.Equal(t, "db", r.attrs["dependency"].String())
		assert.Equal(t, "select", r.attrs["operation"].String())
		assert.Equal(t, "failed", r.attrs["outcome"].String())
		assert.Equal(t, int64(3), r.attrs["attempts"].Int64())
		assert.Equal(t, 300*time.Millisecond, r.attrs["duration"].Duration(), "100 ms and 200 ms of backoff")
		assert.Contains(t, r.attrs["err"].String(), errBoom.Error())
		assert.Len(t, h.with("warden: retry scheduled"), 2)
	})
}

// Calls turned away at once are summarised: one record per dependency
// per second with the count, none for a second without any, and none at
// all when debug records are off.
func TestTurnedAwayCallsAreSummarised(t *testing.T) {
	for _, debug := range []bool{true, false} {
		t.Run(map[bool]string{true: "debug", false: "info"}[debug], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &recorder{min: slog.LevelInfo}
				if debug {
					h.min = slog.LevelDebug
				}
				ex := start(t, WithLogger(slog.New(h)), WithDependency("db", tripOnce()), WithDependency("idle", fast()))
				time.Sleep(time.Second) // the summary has seen every counter once
				_, err := Do(context.Background(), ex, "db", fail)
				require.ErrorIs(t, err, errBoom)
				synctest.Wait()
				for range 100 {
					_, err = Do(context.Background(), ex, "db", ok(1))
					require.ErrorIs(t, err, ErrCircuitOpen)
				}
				time.Sleep(3 * time.Second)
				recs := h.with("warden: calls turned away")
				if !debug {
					assert.Empty(t, recs)
					return
				}
				require.Len(t, recs, 1, "one second with rejections, then quiet ones")
				r := recs[0]
				assert.Equal(t, slog.LevelDebug, r.level)
				assert.Equal(t, "db", r.attrs["dependency"].String())
				assert.Equal(t, uint64(100), r.attrs["count"].Uint64())
				assert.Equal(t, uint64(100), r.attrs["short_circuited"].Uint64())
				assert.Equal(t, uint64(0), r.attrs["rejected"].Uint64())
			})
		})
	}
}

// Listeners hear of every job's end, with its outcome, attempts and
// duration.
func TestListenersHearOfJobEnds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var mu sync.Mutex
		var ends []Event
		ex := start(t, WithDependency("db", fast()), WithEvents(func(e Event) {
			if e.Kind == EventJobEnded {
				mu.Lock()
				ends = append(ends, e)
				mu.Unlock()
			}
		}, 0))
		_, err := Do(context.Background(), ex, "db", ok(1), Operation("ping"))
		require.NoError(t, err)
		_, err = Do(context.Background(), ex, "db", fail)
		require.Error(t, err)
		time.Sleep(time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, ends, 2)
		assert.Equal(t, "ping", ends[0].Operation)
		assert.Equal(t, "succeeded", ends[0].Outcome)
		assert.Equal(t, 1, ends[0].Attempt)
		assert.Zero(t, ends[0].Duration)
		assert.NoError(t, ends[0].Err)
		assert.Equal(t, "failed", ends[1].Outcome)
		assert.Equal(t, 3, ends[1].Attempt)
		assert.Equal(t, 300*time.Millisecond, ends[1].Duration)
		assert.ErrorIs(t, ends[1].Err, errBoom)
	})
}
