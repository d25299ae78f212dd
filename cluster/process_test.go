package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	petcd "github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/cluster/internal/localetcd"
	"github.com/warden-go/warden/executor"
)

// nodeEnv, when set, makes the test binary a node process (see
// runNodeProcess): two remotes in one process race in gRPC's global
// logger, so each node is a process of its own.
const nodeEnv = "WARDEN_CLUSTER_NODE"

// startEtcd starts a real etcd (Debian's etcd-server) in a temporary
// directory, on 127.0.0.1, for the test.
func startEtcd(t testing.TB) *localetcd.Server {
	s, err := localetcd.Start(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	return s
}

// node is a node process, driven through its stdin and stdout.
type node struct {
	name  string
	addr  string // its cluster address, once ready
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	errs  tail // the end of its stderr, for a failure's message
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// fleetConfig is what the node processes of a test share.
type fleetConfig struct {
	open  time.Duration // the breakers' OpenTimeout, the fleet's and each node's
	dep   string        // the URL of the dependency's server; "" for calls that succeed at once
	seeds bool          // membership by Seeds (automanaged) rather than etcd
}

// startNode starts a node process; membership is the etcd at etcd, or
// when it is "" Seeds, listening on listen, with members.
func startNode(t testing.TB, name, etcd string, cfg fleetConfig, listen, members string) *node {
	n := &node{name: name, lines: make(chan string, 100_000)}
	n.cmd = exec.Command(os.Args[0], "-test.run", "^$", "-test.bench", "^$")
	n.cmd.Env = append(os.Environ(), nodeEnv+"="+name, "WARDEN_CLUSTER_ETCD="+etcd,
		"WARDEN_CLUSTER_PORT="+strconv.Itoa(freePort(t)), "WARDEN_CLUSTER_OPEN="+cfg.open.String(),
		"WARDEN_CLUSTER_DEP="+cfg.dep, "WARDEN_CLUSTER_SEEDS_LISTEN="+listen, "WARDEN_CLUSTER_SEEDS="+members)
	var err error
	n.in, err = n.cmd.StdinPipe()
	require.NoError(t, err)
	out, err := n.cmd.StdoutPipe()
	require.NoError(t, err)
	errFile, err := os.Create(filepath.Join(t.TempDir(), name+".stderr"))
	require.NoError(t, err)
	n.cmd.Stderr = io.MultiWriter(&n.errs, errFile)
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
		errFile.Close()
		data, err := os.ReadFile(errFile.Name())
		require.NoError(t, err)
		ours, theirs := races(string(data))
		for _, r := range ours {
			t.Errorf("node %s: a data race with Warden's code in it:\n%s", name, r)
		}
		if theirs > 0 {
			t.Logf("node %s: %d data race reports within protoactor, etcd's client or gRPC alone", name, theirs)
		}
	})
	return n
}

// races reads the race detector's reports in a node's stderr (each node
// is a -race test binary): those where one of the racing accesses is made
// by Warden's code (the innermost frame outside the runtime is Warden's),
// and the count of the others, made within the libraries under it even
// when Warden's code called them.
func races(stderr string) (ours []string, theirs int) {
	for _, block := range strings.Split(stderr, "WARNING: DATA RACE")[1:] {
		block, _, _ = strings.Cut(block, "==================")
		mine, top := false, false // top: the next function line is an access's innermost
		for _, l := range strings.Split(block, "\n") {
			t := strings.TrimSpace(l)
			switch {
			case strings.HasSuffix(t, ":") && strings.Contains(t, " at 0x"):
				top = true // "Read at 0x... by goroutine N:", "Previous write at ..."
			case strings.HasPrefix(t, "Goroutine ") && strings.HasSuffix(t, "created at:"):
				top = false
			case top && strings.HasSuffix(t, ")") && !strings.HasPrefix(t, "/"):
				if strings.HasPrefix(t, "runtime.") || strings.HasPrefix(t, "internal/") || strings.HasPrefix(t, "sync/atomic.") {
					continue
				}
				mine = mine || strings.HasPrefix(t, "github.com/warden-go/warden/")
				top = false
			}
		}
		if mine {
			ours = append(ours, block)
		} else {
			theirs++
		}
	}
	return ours, theirs
}

// startFleet starts three node processes, a, b and c, with etcd or
// Seeds for membership, and waits until each has reached the grain and
// they agree on where it is.
func startFleet(t testing.TB, cfg fleetConfig) []*node {
	if cfg.open == 0 {
		cfg.open = 30 * time.Second
	}
	var nodes []*node
	if cfg.seeds {
		var listen []string
		for range 3 {
			listen = append(listen, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
		}
		for i, name := range []string{"a", "b", "c"} {
			nodes = append(nodes, startNode(t, name, "", cfg, listen[i], strings.Join(listen, ",")))
		}
	} else {
		etcd := startEtcd(t)
		for _, name := range []string{"a", "b", "c"} {
			nodes = append(nodes, startNode(t, name, etcd.Endpoint, cfg, "", ""))
		}
	}
	for _, n := range nodes {
		n.addr = strings.Fields(n.await(t, "ready", 60*time.Second))[1]
	}
	// Until the membership has settled, nodes can place the grain on
	// different members (with Seeds, for up to its 2 s refresh after a
	// start), and a batch would go to a grain the others do not hear.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		hosts := map[string]bool{} // "<address> <reachable>" as each node sees it
		for _, n := range nodes {
			n.send(t, "where")
			hosts[strings.TrimPrefix(n.await(t, "host", 10*time.Second), "host ")] = true
		}
		for h := range hosts {
			if addr, ok := strings.CutSuffix(h, " true"); len(hosts) == 1 && ok && addr != "" {
				return nodes
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes do not agree on the grain's host: %v", hosts)
		}
	}
}

// quit ends the nodes and waits for them to say so.
func quit(t testing.TB, nodes []*node) {
	for _, n := range nodes {
		n.send(t, "quit")
	}
	for _, n := range nodes {
		n.await(t, "bye", 30*time.Second)
	}
}

func (n *node) send(t testing.TB, cmd string) {
	_, err := fmt.Fprintln(n.in, cmd)
	require.NoError(t, err, n.name)
}

// await returns the first line with prefix, or fails after within.
func (n *node) await(t testing.TB, prefix string, within time.Duration) string {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-n.lines:
			if !ok {
				_ = n.cmd.Wait()
				t.Fatalf("%s ended (%v) before %q; its stderr ends:\n%s", n.name, n.cmd.ProcessState, prefix, n.errs.String())
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("%s: no %q within %s; its stderr ends:\n%s", n.name, prefix, within, n.errs.String())
		}
	}
}

// transition is a "state" line of a node: a change of its own breaker.
type transition struct {
	to     string
	left   time.Duration // for a change to open, its open period
	at     time.Time
	reason string
}

// awaitState returns the node's next transition to state to.
func (n *node) awaitState(t testing.TB, to string, within time.Duration) transition {
	t.Helper()
	return parseState(t, n.await(t, "state "+to+" ", within))
}

func parseState(t testing.TB, l string) transition {
	f := strings.SplitN(l, " ", 5)
	require.Len(t, f, 5, l)
	left, err := time.ParseDuration(f[2])
	require.NoError(t, err, l)
	return transition{to: f[1], left: left, at: parseNanos(t, f[3]), reason: f[4]}
}

func parseNanos(t testing.TB, s string) time.Time {
	ns, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, s)
	return time.Unix(0, ns)
}

// host returns the node that hosts the grain now, as n sees it, and the
// others.
func host(t testing.TB, n *node, nodes []*node) (*node, []*node) {
	n.send(t, "where")
	addr := strings.Fields(n.await(t, "host", 10*time.Second))[1]
	var h *node
	var rest []*node
	for _, m := range nodes {
		if m.addr == addr {
			h = m
		} else {
			rest = append(rest, m)
		}
	}
	require.NotNil(t, h, "the grain's host %s is one of the nodes", addr)
	return h, rest
}

// Three node processes share etcd, or know each other by Seeds: a
// dependency failing for node A
// alone opens the breakers of B and C too, for the fleet's remaining
// period, and the fleet closes again; a few times over. The test prints
// how long each open took to reach B and C (BenchmarkOpenPropagation
// measures it over 100 trips).
func TestFailuresOfOneNodeOpenTheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	for _, seeds := range []bool{false, true} {
		t.Run(map[bool]string{false: "etcd", true: "seeds"}[seeds], func(t *testing.T) {
			const open = 500 * time.Millisecond
			nodes := startFleet(t, fleetConfig{open: open, seeds: seeds})
			var waits []time.Duration
			for range 3 {
				waits = append(waits, trip(t, nodes, open)...)
			}
			slices.Sort(waits)
			t.Logf("opens propagated from a to b and c in %v", waits)
			quit(t, nodes)
		})
	}
}

// trip fails five calls at the first node, waits for the other nodes to
// open, then has every node call until the fleet has probed and closed,
// and returns how long each other node took to open.
func trip(t testing.TB, nodes []*node, open time.Duration) []time.Duration {
	a, others := nodes[0], nodes[1:]
	a.send(t, "fail 5")
	failedAt := parseNanos(t, strings.Fields(a.await(t, "failed", 10*time.Second))[1])
	var waits []time.Duration
	for _, n := range others {
		tr := n.awaitState(t, "open", 10*time.Second)
		waits = append(waits, tr.at.Sub(failedAt))
		assert.Positive(t, tr.left, "%s: %s", n.name, tr.reason)
		assert.LessOrEqual(t, tr.left, open+time.Second, "%s opened for the fleet's period and the hold at most", n.name)
	}
	for _, n := range nodes {
		n.send(t, "load on")
	}
	for _, n := range nodes {
		n.awaitState(t, "closed", 30*time.Second)
	}
	for _, n := range nodes {
		n.send(t, "load off")
		n.await(t, "idle", 10*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // the last successes reach the grain before the next failures
	return waits
}

// BenchmarkOpenPropagation measures how long an open of the fleet's
// breaker takes to reach the other nodes, over b.N trips (run it with
// -benchtime=100x): from the end of the failure that trips it at one
// node to the transition at each other node, on loopback.
func BenchmarkOpenPropagation(b *testing.B) {
	const open = 500 * time.Millisecond
	nodes := startFleet(b, fleetConfig{open: open})
	var waits []time.Duration
	b.ResetTimer()
	for range b.N {
		waits = append(waits, trip(b, nodes, open)...)
	}
	b.StopTimer()
	slices.Sort(waits)
	q := func(p float64) float64 {
		return float64(waits[min(len(waits)-1, int(p*float64(len(waits))))].Microseconds()) / 1000
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(waits[len(waits)-1].Microseconds())/1000, "max-ms")
	b.Logf("%d opens seen at the other nodes: p50 %.1f ms, p99 %.1f ms", len(waits), q(0.5), q(0.99))
	quit(b, nodes)
}

// dependency is a fake dependency the node processes call over HTTP: it
// fails (503) until healed and keeps the time and node of every request.
type dependency struct {
	srv     *httptest.Server
	mu      sync.Mutex
	healthy bool
	calls   []call
}

type call struct {
	node string
	at   time.Time
}

func newDependency(t testing.TB) *dependency {
	d := &dependency{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.calls = append(d.calls, call{r.Header.Get("X-Node"), time.Now()})
		ok := d.healthy
		d.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dependency) heal() {
	d.mu.Lock()
	d.healthy = true
	d.mu.Unlock()
}

// between returns how many calls node made from from on, before until.
func (d *dependency) between(node string, from, until time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := 0
	for _, c := range d.calls {
		if c.node == node && !c.at.Before(from) && c.at.Before(until) {
			k++
		}
	}
	return k
}

// The fleet recovers with one probe: three nodes call a dependency that
// fails until their breakers are open, then it heals; between then and
// each node's close, the dependency sees one call in all (the fleet's
// HalfOpenProbes), where three breakers on their own would send three.
// With the dependency still failing for a while, each HALF_OPEN of the
// fleet is one probe too.
func TestFleetRecoversWithOneProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	for _, failing := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d failed probes first", failing), func(t *testing.T) {
			dep := newDependency(t)
			nodes := startFleet(t, fleetConfig{open: time.Second, dep: dep.srv.URL})
			for _, n := range nodes {
				n.send(t, "load on")
			}
			for _, n := range nodes {
				n.awaitState(t, "open", 30*time.Second)
			}
			time.Sleep(300 * time.Millisecond) // calls let in before the opens end
			from := time.Now()
			if failing > 0 {
				// Each failed probe re-opens the fleet: wait for the last one's re-open at its node.
				require.Eventually(t, func() bool {
					k := 0
					for _, n := range nodes {
						k += dep.between(n.name, from, time.Now())
					}
					return k >= failing
				}, 30*time.Second, 10*time.Millisecond)
				time.Sleep(200 * time.Millisecond)
			}
			healed := time.Now()
			dep.heal()
			probes, probesAfterHeal, grants := 0, 0, 0
			for _, n := range nodes {
				var closed transition
				for closed.to != "closed" {
					l := n.await(t, "state ", 30*time.Second)
					tr := parseState(t, l)
					switch {
					case tr.to == "half-open" && tr.at.After(from):
						assert.Equal(t, "fleet breaker probes here", tr.reason, "%s went HALF_OPEN on its own: %s", n.name, l)
						grants++
					case tr.to == "closed":
						closed = tr
					}
				}
				probes += dep.between(n.name, from, closed.at)
				probesAfterHeal += dep.between(n.name, healed, closed.at)
			}
			t.Logf("%d probes fleet-wide, %d of them after the dependency healed, in %d HALF_OPENs", probes, probesAfterHeal, grants)
			assert.Equal(t, 1, probesAfterHeal, "recovery: one probe fleet-wide")
			assert.LessOrEqual(t, probes, grants, "at most one probe per HALF_OPEN of the fleet")
			assert.GreaterOrEqual(t, probes, failing+1)
			for _, n := range nodes {
				n.send(t, "load off")
			}
			quit(t, nodes)
		})
	}
}

// A node cut off from the fleet (its remote's server stopped, so no
// reply reaches it) says so once and falls back to its own breaker: held
// open by the fleet, it probes on its own once the fleet's period and the
// hold are over, and closes when the dependency is back, while the
// others close through the fleet.
func TestCutOffNodeFallsBackToItsOwnBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	dep := newDependency(t)
	nodes := startFleet(t, fleetConfig{open: 2 * time.Second, dep: dep.srv.URL})
	for _, n := range nodes {
		n.send(t, "load on")
	}
	var opened time.Time
	for _, n := range nodes {
		if at := n.awaitState(t, "open", 30*time.Second).at; at.After(opened) {
			opened = at
		}
	}
	h, rest := host(t, nodes[0], nodes)
	cut := rest[1]
	cut.send(t, "cut")
	cutAt := time.Now()
	cut.await(t, `level=WARN msg="warden: fleet breaker unreachable`, 10*time.Second)
	dep.heal()

	own := cut.awaitState(t, "half-open", 30*time.Second)
	assert.Equal(t, "open period over", own.reason, "its own breaker's probe, not a grant")
	assert.Less(t, own.at.Sub(cutAt), 2*time.Second+time.Second+5*time.Second,
		"within the fleet's period, the hold and a batch's timeout, with room")
	t.Logf("%s, cut off %v after the fleet opened it for 2 s, probed on its own %v after the cut",
		cut.name, cutAt.Sub(opened).Round(time.Millisecond), own.at.Sub(cutAt).Round(time.Millisecond))
	cut.awaitState(t, "closed", 30*time.Second)
	for _, n := range []*node{h, rest[0]} {
		n.awaitState(t, "closed", 30*time.Second)
	}
	for _, n := range nodes {
		n.send(t, "load off")
	}
	quit(t, []*node{h, rest[0]})
}

// runNodeProcess is a node: an executor with dependency "db", whose own
// breaker would need 1000 failures, joined to the fleet through etcd,
// whose breaker opens on 5; both open for WARDEN_CLUSTER_OPEN. A call
// to db is a GET of WARDEN_CLUSTER_DEP, or succeeds at once without it.
// It reads commands on stdin:
//
//	fail N     N calls that fail, then "failed <unix ns>"
//	load on    a call every 10 ms until "load off", then "idle"
//	where      "host <grain's node> <reachable>"
//	stats      "stats <succeeded> <failed> <turned away>", since it started
//	cut        stops its remote's server: nothing reaches it any more
//	quit       leaves, then "bye"
//
// It prints "ready <address>", "state <state> <open period> <unix ns>
// <reason>" on each local transition, and the node's log records
// ("level=...").
func runNodeProcess() int {
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	name := os.Getenv(nodeEnv)
	open, err := time.ParseDuration(os.Getenv("WARDEN_CLUSTER_OPEN"))
	if err != nil {
		say("error %v", err)
		return 1
	}
	url := os.Getenv("WARDEN_CLUSTER_DEP")
	call := func(ctx context.Context) (int, error) {
		if url == "" {
			return 0, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-Node", name)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return 1, nil
	}
	ex, err := executor.New(executor.WithMeterProvider(nil),
		executor.WithDependency("db", executor.Policy{
			Timeout: 5 * time.Second,
			Retry:   retrier.Policy{MaxAttempts: 1},
			Breaker: breaker.Policy{FailureThreshold: 1000, OpenTimeout: open},
		}),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind != executor.EventStateChange {
				return
			}
			say("state %s %s %d %s", e.To, e.Delay, e.At.UnixNano(), e.Reason)
		}, 0))
	if err != nil {
		say("error %v", err)
		return 1
	}
	var provider pcluster.ClusterProvider
	if listen := os.Getenv("WARDEN_CLUSTER_SEEDS_LISTEN"); listen != "" {
		provider, err = Seeds(listen, strings.Split(os.Getenv("WARDEN_CLUSTER_SEEDS"), ",")...)
	} else {
		provider, err = petcd.NewWithConfig("/warden-test", clientv3.Config{Endpoints: []string{os.Getenv("WARDEN_CLUSTER_ETCD")}, DialTimeout: 5 * time.Second},
			petcd.WithKeepAliveTTL(2*time.Second))
	}
	if err != nil {
		say("error %v", err)
		return 1
	}
	port, _ := strconv.Atoi(os.Getenv("WARDEN_CLUSTER_PORT"))
	logs := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), `msg="warden:`) { // the node's own, not protoactor's
			say("%s", strings.TrimSuffix(string(p), "\n"))
		}
		return len(p), nil
	}), &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	n, err := Join(context.Background(), ex, Config{Name: "warden-test", Port: port, Provider: provider, Logger: logs,
		Breakers: map[string]breaker.Policy{"db": {FailureThreshold: 5, OpenTimeout: open}}})
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
	var stopLoad chan struct{}
	var loading sync.WaitGroup
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "fail":
			k, _ := strconv.Atoi(f[1])
			for range k {
				_, _ = executor.Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 0, errors.New("down for " + name) })
			}
			say("failed %d", time.Now().UnixNano())
		case len(f) == 2 && f[0] == "load" && f[1] == "on" && stopLoad == nil:
			stopLoad = make(chan struct{})
			loading.Go(func() {
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for stop := stopLoad; ; {
					select {
					case <-stop:
						return
					case <-tick.C:
						_, _ = executor.Do(context.Background(), ex, "db", call)
					}
				}
			})
		case len(f) == 2 && f[0] == "load" && f[1] == "off" && stopLoad != nil:
			close(stopLoad)
			loading.Wait()
			stopLoad = nil
			say("idle")
		case len(f) == 1 && f[0] == "stats":
			st, _ := ex.Stats("db")
			say("stats %d %d %d", st.Succeeded, st.Failed+st.TimedOut+st.Panicked, st.ShortCircuited+st.Rejected)
		case len(f) == 1 && f[0] == "where":
			say("host %s %t", n.GrainAddress("db"), n.Reachable("db"))
		case len(f) == 1 && f[0] == "cut":
			n.c.Remote.Shutdown(false)
		case len(f) == 1 && f[0] == "quit":
			if stopLoad != nil {
				close(stopLoad)
				loading.Wait()
			}
			n.Leave()
			_ = ex.Shutdown(context.Background())
			say("bye")
			return 0
		}
	}
	return 0
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// The node hosting the grain is killed (SIGKILL): the grain moves to
// another node, which rebuilds it from the next batches; the survivors
// serve every call meanwhile, and go on sharing: failures at one of them
// open the other.
func TestGrainMovesWhenItsNodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	nodes := startFleet(t, fleetConfig{})
	dead, alive := host(t, nodes[0], nodes)
	for _, n := range alive {
		n.send(t, "load on")
	}
	require.NoError(t, dead.cmd.Process.Kill())
	killed := time.Now()

	// Each survivor finds the grain again, on a survivor.
	for _, n := range alive {
		deadline := time.Now().Add(60 * time.Second)
		for {
			n.send(t, "where")
			f := strings.Fields(n.await(t, "host", 10*time.Second))
			if len(f) == 3 && f[1] != dead.addr && f[1] != "" && f[2] == "true" {
				t.Logf("%s reaches the grain again, on %s, %v after the kill", n.name, f[1], time.Since(killed).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never found the grain again: %v", n.name, f)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// They served throughout: every call made during the move succeeded.
	for _, n := range alive {
		n.send(t, "load off")
		n.await(t, "idle", 10*time.Second)
		n.send(t, "stats")
		var ok, failed, turned int
		_, err := fmt.Sscanf(n.await(t, "stats", 10*time.Second), "stats %d %d %d", &ok, &failed, &turned)
		require.NoError(t, err)
		assert.Positive(t, ok, n.name)
		assert.Zero(t, failed+turned, "%s: failed or turned away", n.name)
		t.Logf("%s served %d calls during the move, none failed or turned away", n.name, ok)
	}
	time.Sleep(300 * time.Millisecond) // the last successes reach the grain before the failures
	alive[0].send(t, "fail 5")
	alive[0].await(t, "failed", 10*time.Second)
	alive[1].awaitState(t, "open", 10*time.Second)
	quit(t, alive)
}
