package supervisor_test

import (
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/supervisor"
)

// Three restarts are allowed within five seconds, each after a doubling
// delay; the fourth crash in the window escalates.
func ExampleIntensity() {
	in, err := supervisor.NewIntensity(supervisor.Policy{MaxRestarts: 3, Window: 5 * time.Second, InitialBackoff: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		d := in.Crash(t0.Add(time.Duration(i)*time.Second), 0.5)
		fmt.Printf("crash %d: %s after %s\n", d.Crashes, d.Action, d.Delay)
	}
	// Output:
	// crash 1: restart after 50ms
	// crash 2: restart after 100ms
	// crash 3: restart after 200ms
	// crash 4: escalate after 0s
}
