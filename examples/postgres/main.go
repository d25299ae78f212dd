// Command postgres runs PostgreSQL queries as Warden jobs (pgx v5): the
// server's passing errors (a serialization failure, a deadlock, an
// administrator's shutdown, a connection exception or a lost connection)
// are retried, the breaker opens while the server is down and closes
// when it is back, and a constraint violation is neither retried nor
// the server's failure. It is a module of its own, so that Warden's users
// never download the driver.
//
//	DATABASE_URL=postgres://user@127.0.0.1:5432/db go run .
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// Retryable reports whether err is worth another attempt: SQLSTATE 40001
// (serialization failure), 40P01 (deadlock), 57P01 (admin shutdown), any
// 08xxx (connection exception), or a connection lost or refused. Other
// server errors, 23xxx (integrity constraints) among them, are the
// statement's and are not retried.
func Retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "57P01" || strings.HasPrefix(pe.Code, "08")
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, pgconn.ErrConnClosed) ||
		retrier.IsTransient(err) || errors.Is(err, io.EOF)
}

// ServerFailure reports whether err counts against the server for the
// breaker: not a constraint violation (23xxx) nor a syntax or access
// error class 42, which a healthy server returns to a wrong statement.
func ServerFailure(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return !strings.HasPrefix(pe.Code, "23") && !strings.HasPrefix(pe.Code, "42")
	}
	return true
}

// Policy is a PostgreSQL policy: the database preset's breaker, open for
// openFor, and retries for the passing errors alone.
func Policy(openFor time.Duration) executor.Policy {
	p := executor.DatabasePolicy()
	p.Timeout = 10 * time.Second
	p.AttemptTimeout = 2 * time.Second
	p.Retry = retrier.Policy{MaxAttempts: 3, InitialDelay: 50 * time.Millisecond, MaxDelay: time.Second, RetryIf: Retryable}
	p.Breaker = breaker.Policy{FailureThreshold: 5, OpenTimeout: openFor, HalfOpenProbes: 1, IsFailure: ServerFailure}
	p.Pool = executor.Pool{Workers: 8, Queue: 256}
	return p
}

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "postgres: set DATABASE_URL, such as postgres://postgres@127.0.0.1:5432/postgres")
		os.Exit(2)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		os.Exit(1)
	}
	defer pool.Close()
	ex, err := executor.New(executor.WithDependency("postgres", Policy(5*time.Second)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		os.Exit(1)
	}
	defer func() { _ = ex.Shutdown(ctx) }()
	now, err := executor.Do(ctx, ex, "postgres", func(ctx context.Context) (time.Time, error) {
		var t time.Time
		return t, pool.QueryRow(ctx, "SELECT now()").Scan(&t)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		os.Exit(1)
	}
	fmt.Println("the server's time:", now)
}
