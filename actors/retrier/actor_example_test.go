package retrier_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/actors/retrier"
)

type retryJob struct {
	name string
	due  chan string
}

func (r retryJob) Due() { r.due <- r.name }

// A retrier actor runs in any protoactor system: spawn it from its Props
// and schedule retries on it; each one's Due is called when its time
// comes, in time order, with one timer for the earliest.
func ExampleNewActor() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	r := retrier.NewActor()
	pid := system.Root.Spawn(r.Props())
	<-r.Ready()

	due := make(chan string, 2)
	now := time.Now()
	r.Schedule(now.Add(20*time.Millisecond), retryJob{"second", due})
	r.Schedule(now.Add(10*time.Millisecond), retryJob{"first", due})
	fmt.Println(<-due, <-due)

	r.Close()
	_ = system.Root.StopFuture(pid).Wait()
	// Output:
	// first second
}
