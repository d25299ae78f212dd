package breaker_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

// A breaker actor runs in any protoactor system: spawn it from its Props,
// admit calls from its View, report their outcomes, and control it.
func ExampleNewActor() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	type change struct {
		t breaker.Transition
		v *breaker.View // the view the transition publishes
	}
	opened := make(chan change, 1)
	b, err := breaker.NewActor("postgres", breaker.Database(), breaker.WithActorOnTransition(func(t breaker.Transition, v *breaker.View) {
		opened <- change{t, v}
	}))
	if err != nil {
		panic(err)
	}
	pid := system.Root.Spawn(b.Props())
	<-b.Ready()

	for range 3 {
		a := b.View().Admit(time.Now())
		b.Report(a.Permit, messages.Failure, time.Millisecond)
	}
	c := <-opened
	fmt.Println(c.t.From, "->", c.t.To, "after", c.t.Reason)

	// The callback runs before b.View() publishes the new view: admit
	// from the view it was given.
	a := c.v.Admit(time.Now())
	fmt.Println(a.Verdict, c.v.OpenError(a).FailureCount)

	state := make(chan messages.State, 1)
	b.Control(breaker.Reset, state)
	fmt.Println(<-state)

	b.Close()
	_ = system.Root.StopFuture(pid).Wait()
	// Output:
	// closed -> open after consecutive failures
	// rejected 3
	// closed
}
