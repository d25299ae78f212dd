package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	petcd "github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// nodeEnv, when set, makes the test binary a node process (see
// runNodeProcess): two remotes in one process race in gRPC's global
// logger, so each node is a process of its own.
const nodeEnv = "WARDEN_CLUSTER_NODE"

// etcdServer is a real etcd (Debian's etcd-server) in a temporary
// directory, on 127.0.0.1.
type etcdServer struct {
	cmd      *exec.Cmd
	endpoint string
}

func startEtcd(t *testing.T) *etcdServer {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("no etcd: install Debian's etcd-server package (.ci/run does)")
	}
	client, peer := freePort(t), freePort(t)
	dir := t.TempDir()
	s := &etcdServer{endpoint: fmt.Sprintf("127.0.0.1:%d", client)}
	s.cmd = exec.Command(bin, "--data-dir", filepath.Join(dir, "data"), "--name", "warden-test",
		"--listen-client-urls", "http://"+s.endpoint, "--advertise-client-urls", "http://"+s.endpoint,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("warden-test=http://127.0.0.1:%d", peer),
		"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	require.NoError(t, err)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		log.Close()
	})
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Put(ctx, "/warden-test/ready", "1")
		cancel()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("etcd never answered:", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// node is a node process, driven through its stdin and stdout.
type node struct {
	name  string
	addr  string // its cluster address, once ready
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startNode(t *testing.T, name, etcd string) *node {
	n := &node{name: name, lines: make(chan string, 100)}
	n.cmd = exec.Command(os.Args[0], "-test.run", "^$")
	n.cmd.Env = append(os.Environ(), nodeEnv+"="+name, "WARDEN_CLUSTER_ETCD="+etcd,
		"WARDEN_CLUSTER_PORT="+strconv.Itoa(freePort(t)))
	var err error
	n.in, err = n.cmd.StdinPipe()
	require.NoError(t, err)
	out, err := n.cmd.StdoutPipe()
	require.NoError(t, err)
	n.cmd.Stderr = io.Discard
	require.NoError(t, n.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n.lines <- sc.Text()
		}
		close(n.lines)
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	})
	return n
}

// startFleet starts etcd and three node processes, a, b and c, and waits
// until each has reached its grain.
func startFleet(t *testing.T) []*node {
	etcd := startEtcd(t)
	nodes := []*node{startNode(t, "a", etcd.endpoint), startNode(t, "b", etcd.endpoint), startNode(t, "c", etcd.endpoint)}
	for _, n := range nodes {
		n.addr = strings.Fields(n.await(t, "ready", 60*time.Second))[1]
	}
	return nodes
}

// quit ends the nodes and waits for them to say so.
func quit(t *testing.T, nodes []*node) {
	for _, n := range nodes {
		n.send(t, "quit")
	}
	for _, n := range nodes {
		n.await(t, "bye", 30*time.Second)
	}
}

func (n *node) send(t *testing.T, cmd string) {
	_, err := fmt.Fprintln(n.in, cmd)
	require.NoError(t, err, n.name)
}

// await returns the first line with prefix, or fails after within.
func (n *node) await(t *testing.T, prefix string, within time.Duration) string {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-n.lines:
			if !ok {
				t.Fatalf("%s ended before %q", n.name, prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("%s: no %q within %s", n.name, prefix, within)
		}
	}
}

// Three node processes share etcd: a dependency failing for node A
// alone opens the breakers of B and C too, for the fleet's remaining
// period; the test prints how long that took.
func TestFailuresOfOneNodeOpenTheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	nodes := startFleet(t)
	a, others := nodes[0], nodes[1:]
	a.send(t, "fail 5")
	failedAt := time.Now()
	a.await(t, "failed", 10*time.Second)
	var waits []time.Duration
	for _, n := range others {
		l := n.await(t, "state open", 10*time.Second)
		waits = append(waits, time.Since(failedAt))
		left, err := time.ParseDuration(strings.Fields(l)[2])
		require.NoError(t, err, l)
		assert.Greater(t, left, 20*time.Second, "%s opened for the fleet's 30 s, less the time to learn it", n.name)
	}
	slices.Sort(waits)
	t.Logf("open propagated from a to b and c in %v", waits)
	quit(t, nodes)
}

// runNodeProcess is a node: an executor with dependency "db" (whose own
// breaker would need 1000 failures) joined to the fleet through etcd,
// whose breaker opens on 5. It reads commands on stdin (fail N, quit) and
// prints "ready <address>", "failed", "host <grain's node> <reachable>"
// (for where), "state <state> <time left open>" on each local transition
// (the time left read from a call turned away), and "bye".
func runNodeProcess() int {
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	var exp atomic.Pointer[executor.Executor]
	ex, err := executor.New(executor.WithMeterProvider(nil),
		executor.WithDependency("db", executor.Policy{
			Timeout: 5 * time.Second,
			Retry:   retrier.Policy{MaxAttempts: 1},
			Breaker: breaker.Policy{FailureThreshold: 1000, OpenTimeout: time.Minute},
		}),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind != executor.EventStateChange {
				return
			}
			left := time.Duration(0)
			if ex := exp.Load(); ex != nil && e.To == executor.Open {
				_, err := executor.Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 0, nil })
				var coe *executor.CircuitOpenError
				if errors.As(err, &coe) {
					left = coe.RetryAfter()
				}
			}
			say("state %s %s", e.To, left)
		}, 0))
	if err != nil {
		say("error %v", err)
		return 1
	}
	exp.Store(ex)
	provider, err := petcd.NewWithConfig("/warden-test", clientv3.Config{Endpoints: []string{os.Getenv("WARDEN_CLUSTER_ETCD")}, DialTimeout: 5 * time.Second},
		petcd.WithKeepAliveTTL(2*time.Second))
	if err != nil {
		say("error %v", err)
		return 1
	}
	port, _ := strconv.Atoi(os.Getenv("WARDEN_CLUSTER_PORT"))
	n, err := Join(context.Background(), ex, Config{Name: "warden-test", Port: port, Provider: provider,
		Breakers: map[string]breaker.Policy{"db": {FailureThreshold: 5, OpenTimeout: 30 * time.Second}}})
	if err != nil {
		say("error %v", err)
		return 1
	}
	for deadline := time.Now().Add(60 * time.Second); !n.Reachable("db"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			say("error the grain never answered")
			return 1
		}
	}
	say("ready %s", n.Address())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "fail":
			k, _ := strconv.Atoi(f[1])
			for range k {
				_, _ = executor.Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 0, errors.New("down for a") })
			}
			say("failed")
		case len(f) == 1 && f[0] == "where":
			say("host %s %t", n.GrainAddress("db"), n.Reachable("db"))
		case len(f) == 1 && f[0] == "quit":
			n.Leave()
			_ = ex.Shutdown(context.Background())
			say("bye")
			return 0
		}
	}
	return 0
}

// The node hosting the grain is killed (SIGKILL): the grain moves to
// another node, which rebuilds it from the next batches, and the
// survivors go on: failures at one of them open the other.
func TestGrainMovesWhenItsNodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	nodes := startFleet(t)
	nodes[0].send(t, "where")
	host := strings.Fields(nodes[0].await(t, "host", 10*time.Second))[1]
	var dead *node
	var alive []*node
	for _, n := range nodes {
		if n.addr == host {
			dead = n
		} else {
			alive = append(alive, n)
		}
	}
	require.NotNil(t, dead, "the grain's host %s is one of the nodes", host)
	require.NoError(t, dead.cmd.Process.Kill())
	killed := time.Now()

	// Each survivor finds the grain again, on a survivor.
	for _, n := range alive {
		deadline := time.Now().Add(60 * time.Second)
		for {
			n.send(t, "where")
			f := strings.Fields(n.await(t, "host", 10*time.Second))
			if len(f) == 3 && f[1] != host && f[1] != "" && f[2] == "true" {
				t.Logf("%s reaches the grain again, on %s, %v after the kill", n.name, f[1], time.Since(killed).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never found the grain again: %v", n.name, f)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	alive[0].send(t, "fail 5")
	alive[0].await(t, "failed", 10*time.Second)
	alive[1].await(t, "state open", 10*time.Second)
	quit(t, alive)
}
