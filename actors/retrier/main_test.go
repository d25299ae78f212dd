package retrier

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines after the tests and raises rapid's default number of generated cases to 1,000
// unless -rapid.checks or RAPID_CHECKS says otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	setByUser := false
	flag.Visit(func(f *flag.Flag) { setByUser = setByUser || f.Name == "rapid.checks" })
	if !setByUser && os.Getenv("RAPID_CHECKS") == "" {
		_ = flag.Set("rapid.checks", "1000")
	}
	goleak.VerifyTestMain(m)
}
