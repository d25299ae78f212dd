package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A write that meets another connection's lock is retried until the lock
// goes, then succeeds; the constraint violation after is not retried.
func TestLockedWriteIsRetried(t *testing.T) {
	attempts, err := demo(context.Background(), t.TempDir(), 300*time.Millisecond)
	require.NoError(t, err)
	// At least one attempt met the lock; the duplicate took one more.
	assert.Greater(t, attempts, uint64(2))
}

// Real SQLite errors, classified.
func TestRetryable(t *testing.T) {
	db, err := open(t.TempDir() + "/c.db")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE t (v TEXT UNIQUE); INSERT INTO t VALUES ('x')")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO t VALUES ('x')")
	var se *sqlite.Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, sqlite3.SQLITE_CONSTRAINT, se.Code()&0xff)
	assert.False(t, Retryable(err), "a constraint is permanent")
	assert.False(t, Retryable(errors.New("other")))
}
