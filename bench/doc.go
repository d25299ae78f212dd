// Package bench holds Warden's benchmarks, side by side with other Go
// resilience libraries. It is its own module, so the libraries it compares
// against never enter Warden's own go.mod.
package bench
