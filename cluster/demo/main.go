// Command demo runs a fleet of three Warden nodes, each a process of its
// own, sharing one breaker for a flaky dependency through protoactor's
// cluster, with a real etcd for membership (all on 127.0.0.1). Node a is
// busy (a call every 20 ms), b and c are not (one every 250 ms). When the
// dependency goes down, a's failures open the breakers of b and c too,
// before they have failed more than once or twice; once it is back, a
// single probe, from one node, closes all three. Each node prints its
// breaker's state once a second.
//
//	make cluster-demo   (needs the etcd binary: Debian's etcd-server)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	petcd "github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/cluster"
	"github.com/warden-go/warden/cluster/internal/localetcd"
	"github.com/warden-go/warden/executor"
)

// The breaker of every node, and the fleet's: five failures in a row open
// it for four seconds.
var policy = breaker.Policy{FailureThreshold: 5, OpenTimeout: 4 * time.Second}

// report is what a node process tells the demo, one JSON object a line.
type report struct {
	Node   string    `json:"node"`
	Kind   string    `json:"kind"` // ready, tick, change
	At     time.Time `json:"at"`
	State  string    `json:"state"`
	From   string    `json:"from,omitempty"`
	Reason string    `json:"reason,omitempty"`
	OK     uint64    `json:"ok"`
	Failed uint64    `json:"failed"`
	Short  uint64    `json:"short_circuited"`
}

func main() {
	log.SetFlags(0)
	if name := os.Getenv("WARDEN_DEMO_NODE"); name != "" {
		if err := runNode(name); err != nil {
			log.Fatalf("node %s: %v", name, err)
		}
		return
	}
	if _, err := run(os.Stdout); err != nil {
		log.Fatal("cluster demo: ", err)
	}
}

// dependency is the flaky dependency: it answers 503 while failing is
// set, and keeps the node and time of each call.
type dependency struct {
	mu      sync.Mutex
	failing bool
	calls   []call
}

type call struct {
	node string
	at   time.Time
}

func (d *dependency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	node := r.Header.Get("X-Node")
	d.mu.Lock()
	d.calls = append(d.calls, call{node, time.Now()})
	fail := d.failing
	d.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func (d *dependency) set(failing bool) {
	d.mu.Lock()
	d.failing = failing
	d.mu.Unlock()
}

// between counts node's calls after from and before until.
func (d *dependency) between(node string, from, until time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := 0
	for _, c := range d.calls {
		if c.node == node && c.at.After(from) && c.at.Before(until) {
			k++
		}
	}
	return k
}

// run runs the demo, printing to w, and returns how many calls reached
// the dependency while the fleet's breaker was open or probing.
func run(w io.Writer) (int, error) {
	dir, err := os.MkdirTemp("", "warden-cluster-demo")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	etcd, err := localetcd.Start(dir)
	if err != nil {
		return 0, err
	}
	defer etcd.Stop()

	dep := &dependency{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: dep, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	reports := make(chan report, 1024)
	var nodes []*exec.Cmd
	var readers sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), "WARDEN_DEMO_NODE="+name, "WARDEN_DEMO_ETCD="+etcd.Endpoint,
			"WARDEN_DEMO_DEP=http://"+ln.Addr().String())
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		stdin, err := cmd.StdinPipe() // closed by the demo: the node's signal to leave
		if err != nil {
			return 0, err
		}
		defer stdin.Close()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		nodes = append(nodes, cmd)
		readers.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var r report
				if json.Unmarshal(sc.Bytes(), &r) == nil {
					reports <- r
				}
			}
		})
	}
	defer func() {
		for _, c := range nodes {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		go func() {
			readers.Wait()
			close(reports)
		}()
		for range reports { // until every reader has ended
		}
	}()

	fmt.Fprintln(w, "Three nodes (a, b, c), each a process, share one breaker for the dependency through etcd on", etcd.Endpoint)
	fmt.Fprintf(w, "Every node's breaker and the fleet's: %d failures in a row open it for %s.\n\n", policy.FailureThreshold, policy.OpenTimeout)
	ready := 0
	for ready < 3 {
		select {
		case r := <-reports:
			if r.Kind == "ready" {
				ready++
			}
		case <-time.After(60 * time.Second):
			return 0, errors.New("the nodes did not join within 60 s")
		}
	}
	start := time.Now()
	since := func(t time.Time) string { return fmt.Sprintf("%5.1fs", t.Sub(start).Seconds()) }
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "%s  --- %s\n", since(time.Now()), fmt.Sprintf(format, args...))
	}
	say("the nodes have joined; a calls the dependency every 20 ms, b and c every 250 ms")

	states := map[string]string{"a": "closed", "b": "closed", "c": "closed"}
	all := func(s string) bool { return states["a"] == s && states["b"] == s && states["c"] == s }
	var openedAt time.Time
	closedAt := map[string]time.Time{}
	failed := map[string]uint64{} // each node's failed calls so far
	tick := func(r report) {
		fmt.Fprintf(w, "%s  %s: %-9s  ok %3d  failed %3d  short-circuited %3d\n", since(r.At), r.Node, r.State, r.OK, r.Failed, r.Short)
	}
	fail, deadline := time.After(3*time.Second), time.After(60*time.Second)
	var heal, end <-chan time.Time
	for done := false; !done; {
		select {
		case <-fail:
			dep.set(true)
			say("the dependency goes down")
		case <-heal:
			dep.set(false)
			say("the dependency is back")
		case <-end:
			done = true
		case r := <-reports:
			switch r.Kind {
			case "tick":
				tick(r)
			case "change":
				failed[r.Node] = r.Failed
				states[r.Node] = r.State
				fmt.Fprintf(w, "%s  %s: %s -> %s (%s)\n", since(r.At), r.Node, r.From, r.State, r.Reason)
				switch {
				case all("open") && openedAt.IsZero():
					openedAt = r.At
					say("all three breakers are open: b failed %d call(s), c %d, a the rest", failed["b"], failed["c"])
					heal = time.After(2 * time.Second)
				case r.State == "closed" && !openedAt.IsZero():
					closedAt[r.Node] = r.At
					if all("closed") {
						say("all three closed again")
						end = time.After(2 * time.Second)
					}
				}
			}
		case <-deadline:
			return 0, errors.New("the breakers did not open and close again within 60 s")
		}
	}
	probes := 0
	for node, at := range closedAt {
		probes += dep.between(node, openedAt, at)
	}
	fmt.Fprintf(w, "\nWhile the fleet's breaker was open or probing, the dependency got %d call(s) from the three nodes: the probe that closed it.\n", probes)
	return probes, nil
}

// runNode is one node process: an executor whose dependency "flaky" is
// the demo's HTTP server, joined to the fleet. It reports on stdout and
// leaves when its stdin closes.
func runNode(name string) error {
	enc := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	emit := func(r report) {
		mu.Lock()
		defer mu.Unlock()
		r.Node = name
		_ = enc.Encode(r)
	}
	every := 250 * time.Millisecond
	if name == "a" {
		every = 20 * time.Millisecond
	}
	var exp atomic.Pointer[executor.Executor]
	ex, err := executor.New(executor.WithMeterProvider(nil),
		executor.WithDependency("flaky", executor.Policy{Timeout: time.Second, Retry: retrier.Policy{MaxAttempts: 1}, Breaker: policy}),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind == executor.EventStateChange {
				st, _ := exp.Load().Stats("flaky")
				emit(report{Kind: "change", At: e.At, From: e.From.String(), State: e.To.String(), Reason: e.Reason, Failed: st.Failed})
			}
		}, 0))
	if err != nil {
		return err
	}
	exp.Store(ex)
	defer func() { _ = ex.Shutdown(context.Background()) }()
	provider, err := petcd.NewWithConfig("/warden-demo", clientv3.Config{Endpoints: []string{os.Getenv("WARDEN_DEMO_ETCD")}, DialTimeout: 5 * time.Second},
		petcd.WithKeepAliveTTL(2*time.Second))
	if err != nil {
		return err
	}
	node, err := cluster.Join(context.Background(), ex, cluster.Config{Name: "warden-demo", Provider: provider,
		Breakers: map[string]breaker.Policy{"flaky": policy}})
	if err != nil {
		return err
	}
	defer node.Leave()
	for deadline := time.Now().Add(60 * time.Second); !node.Reachable("flaky"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return errors.New("the fleet breaker never answered")
		}
	}
	emit(report{Kind: "ready", At: time.Now()})

	url := os.Getenv("WARDEN_DEMO_DEP")
	call := func(ctx context.Context) (int, error) {
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
			return 0, errors.New("status " + strconv.Itoa(resp.StatusCode))
		}
		return 1, nil
	}
	stop := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the demo ends
		close(stop)
	}()
	calls := time.NewTicker(every)
	defer calls.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	var last executor.Stats
	for {
		select {
		case <-stop:
			return nil
		case <-calls.C:
			_, _ = executor.Do(context.Background(), ex, "flaky", call)
		case <-second.C:
			st, err := ex.Stats("flaky")
			if err != nil {
				return err
			}
			emit(report{Kind: "tick", At: time.Now(), State: strings.ToLower(st.State.String()),
				OK: st.Succeeded - last.Succeeded, Failed: st.Failed - last.Failed, Short: st.ShortCircuited - last.ShortCircuited})
			last = st
		}
	}
}
