package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	ptest "github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// One node on loopback: the fleet breaker, whose threshold is lower than
// the node's own, opens on the node's failures, and the node's breaker
// follows it, open for the fleet's remaining period.
func TestNodeFollowsTheFleetBreaker(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	ex, err := executor.New(executor.WithMeterProvider(nil),
		executor.WithDependency("db", executor.Policy{
			Timeout: 5 * time.Second,
			Retry:   retrier.Policy{MaxAttempts: 1},
			Breaker: breaker.Policy{FailureThreshold: 1000, OpenTimeout: time.Minute}, // never trips on its own here
		}),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind == executor.EventStateChange {
				mu.Lock()
				reasons = append(reasons, fmt.Sprintf("%s>%s: %s", e.From, e.To, e.Reason))
				mu.Unlock()
			}
		}, 0))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()

	// protoactor's in-memory membership: its automanaged provider
	// listens on every interface, not on loopback alone.
	node, err := Join(context.Background(), ex, Config{
		Name:     "warden-test",
		Port:     freePort(t),
		Provider: ptest.NewTestProvider(ptest.NewInMemAgent()),
		Breakers: map[string]breaker.Policy{"db": {FailureThreshold: 5, OpenTimeout: 30 * time.Second}},
	})
	require.NoError(t, err)
	defer node.Leave()

	require.Eventually(t, func() bool { return node.Reachable("db") }, 30*time.Second, 50*time.Millisecond, "the grain answers")
	boom := errors.New("boom")
	for range 5 {
		_, err := executor.Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 0, boom })
		require.ErrorIs(t, err, boom)
	}
	require.Eventually(t, func() bool { st, _ := ex.Stats("db"); return st.State == executor.Open }, 10*time.Second, 10*time.Millisecond,
		"the node's breaker follows the fleet's")
	_, err = executor.Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 1, nil })
	var coe *executor.CircuitOpenError
	require.ErrorAs(t, err, &coe)
	assert.Greater(t, coe.RetryAfter(), 20*time.Second, "the fleet's 30 s, less the time to learn it")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, reasons, "closed>open: fleet breaker open")
}

// A bad configuration fails Join at once, naming what is wrong.
func TestJoinChecksItsConfig(t *testing.T) {
	ex, err := executor.New(executor.WithMeterProvider(nil), executor.WithDependency("db", executor.Policy{}))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()
	_, err = Join(context.Background(), ex, Config{Name: "x"})
	assert.ErrorIs(t, err, executor.ErrInvalidPolicy)
	_, err = Join(context.Background(), ex, Config{Name: "x", Provider: ptest.NewTestProvider(ptest.NewInMemAgent()),
		Breakers: map[string]breaker.Policy{"db": {FailureThreshold: -1}, "cache": {}, "slow": {SlowCallRateThreshold: 0.5, SlowCallDuration: time.Second}}})
	assert.ErrorIs(t, err, executor.ErrInvalidPolicy)
	assert.Contains(t, err.Error(), `Breakers["slow"]: SlowCallRateThreshold`)
	assert.ErrorIs(t, err, executor.ErrUnknownDependency)
	assert.Contains(t, err.Error(), `Breakers["db"]`)
	assert.Contains(t, err.Error(), `Breakers["cache"]`)
}

// Seeds: one node on loopback knows itself by its health endpoint, which
// answers for the member, and reaches its fleet breaker; a busy address
// fails at once.
func TestSeeds(t *testing.T) {
	ex, err := executor.New(executor.WithMeterProvider(nil), executor.WithDependency("db", executor.Policy{}))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	provider, err := Seeds(addr, addr)
	require.NoError(t, err)
	_, err = Seeds(addr, addr)
	require.Error(t, err, "the address is taken")

	node, err := Join(context.Background(), ex, Config{Name: "warden-seeds", Port: freePort(t), Provider: provider,
		Breakers: map[string]breaker.Policy{"db": {FailureThreshold: 5, OpenTimeout: time.Second}}})
	require.NoError(t, err)
	defer node.Leave()
	require.Eventually(t, func() bool { return node.Reachable("db") }, 30*time.Second, 50*time.Millisecond)

	resp, err := http.Get("http://" + addr + "/_health")
	require.NoError(t, err)
	defer resp.Body.Close()
	var m struct {
		Address     string   `json:"address"`
		ClusterName string   `json:"cluster_name"`
		Kinds       []string `json:"kinds"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	assert.Equal(t, "127.0.0.1", m.Address)
	assert.Equal(t, "warden-seeds", m.ClusterName)
	assert.Contains(t, m.Kinds, grainKind)
}
