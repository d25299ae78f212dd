package messages_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warden-go/warden/messages"
)

// A TimeoutError matches the generic timeout sentinel, its kind's sentinel
// and context.DeadlineExceeded, so existing deadline checks keep working.
func ExampleTimeoutError() {
	err := fmt.Errorf("fetch user: %w", &messages.TimeoutError{
		Operation: "users-api", Duration: 10 * time.Second, Kind: messages.KindNetwork,
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, messages.ErrTimeout), errors.Is(err, messages.ErrNetworkTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, messages.ErrProcessingTimeout))
	// Output:
	// fetch user: warden: network timeout for "users-api" after 10s
	// true true true false
}
