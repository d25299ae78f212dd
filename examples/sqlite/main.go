// Command sqlite runs SQLite statements as Warden jobs (modernc.org/sqlite,
// no cgo): a write that finds the database locked by another connection
// (SQLITE_BUSY) is retried with backoff until the lock is released, and a
// constraint violation is not retried. It is a module of its own, so that
// Warden's users never download the driver.
//
//	go run .
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// Retryable reports whether err is SQLite's "database is locked"
// (SQLITE_BUSY, with its extended codes) or "table is locked"
// (SQLITE_LOCKED): another connection holds the lock, which passes.
func Retryable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// Policy is a policy for a local SQLite database: quick attempts, and
// retries for locks only. A lock is not the database failing: the
// breaker ignores it, so that contention never opens the circuit.
func Policy() executor.Policy {
	return executor.Policy{
		Breaker: breaker.Policy{IsIgnored: Retryable},
		Timeout: 5 * time.Second,
		Retry: retrier.Policy{MaxAttempts: 50, InitialDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond,
			Jitter: retrier.EqualJitter, RetryIf: Retryable},
		Pool: executor.Pool{Workers: 4, Queue: 64},
	}
}

// open opens the database at path with no busy timeout of SQLite's own:
// waiting for a lock is Warden's job here.
func open(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
}

// demo holds a write lock from one connection for a while and writes
// from another through Warden; it returns the attempts the write took.
func demo(ctx context.Context, dir string, hold time.Duration) (attempts uint64, err error) {
	path := filepath.Join(dir, "demo.db")
	locker, err := open(path)
	if err != nil {
		return 0, err
	}
	defer locker.Close()
	writer, err := open(path)
	if err != nil {
		return 0, err
	}
	defer writer.Close()
	if _, err := locker.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"); err != nil {
		return 0, err
	}

	ex, err := executor.New(executor.WithDependency("sqlite", Policy()), executor.WithMeterProvider(nil))
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, ex.Shutdown(context.Background())) }()

	tx, err := locker.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		return 0, err
	}
	go func() {
		time.Sleep(hold)
		_ = tx.Commit()
	}()
	insert := func(ctx context.Context) (int64, error) {
		res, err := writer.ExecContext(ctx, "INSERT INTO accounts (name) VALUES (?)", "ada")
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	id, err := executor.Do(ctx, ex, "sqlite", insert)
	if err != nil {
		return 0, err
	}
	st, _ := ex.Stats("sqlite")
	fmt.Printf("inserted row %d after %d attempts while another connection held the lock for %s\n", id, st.Attempts, hold)
	_, err = executor.Do(ctx, ex, "sqlite", insert)
	before := st.Attempts
	st, _ = ex.Stats("sqlite")
	fmt.Printf("the same name again: %v (%d attempt: a constraint is not retried)\n", err, st.Attempts-before)
	return st.Attempts, nil
}

func main() {
	dir, err := os.MkdirTemp("", "warden-sqlite-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	if _, err := demo(context.Background(), dir, 150*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "sqlite:", err)
		os.Exit(1)
	}
}
