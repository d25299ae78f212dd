//go:build !race

package executor

import (
	"context"
	"testing"
)

func answer(context.Context) (int, error) { return 42, nil }

// A successful job through a handle, with a function that captures
// nothing, allocates only its attempt's context: the job, its typed part
// and its reply channel are pooled. (The race detector allocates on its
// own, hence the build tag.)
func TestSuccessfulJobAllocatesOnlyItsContext(t *testing.T) {
	ex := start(t, WithDependency("db", fast()))
	db, _ := ex.Dependency("db")
	ctx := context.Background()
	if _, err := Call(ctx, db, answer); err != nil { // the pool's first job
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if v, err := Call(ctx, db, answer); err != nil || v != 42 {
			t.Fatalf("got %d, %v", v, err)
		}
	})
	if allocs > 1 {
		t.Errorf("%.2f allocations per job; want at most 1 (the attempt's context)", allocs)
	}
	rejecting := start(t, WithDependency("open", fast()))
	open, _ := rejecting.Dependency("open")
	if _, err := open.ControlBreaker(ctx, ForceOpenBreaker); err != nil {
		t.Fatal(err)
	}
	_, _ = Call(ctx, open, answer) // the rejection the next ones share
	allocs = testing.AllocsPerRun(1000, func() { _, _ = Call(ctx, open, answer) })
	if allocs != 0 {
		t.Errorf("%.2f allocations per rejection; want 0", allocs)
	}
}
