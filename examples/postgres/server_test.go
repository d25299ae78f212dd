package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// server is a PostgreSQL server of the test's own, in a temporary data
// directory, on 127.0.0.1 at a free port.
type server struct {
	t       *testing.T
	bin     string // the directory of initdb and pg_ctl
	dir     string // data directory
	port    int
	asOwner []string // runuser -u postgres --, when the test runs as root
}

// bindir finds Debian's PostgreSQL binaries (the newest version), or
// WARDEN_PG_BIN.
func bindir(t *testing.T) string {
	if d := os.Getenv("WARDEN_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	if len(dirs) == 0 {
		t.Fatal("no PostgreSQL: install Debian's postgresql package (.ci/run does), or set WARDEN_PG_BIN")
	}
	return dirs[len(dirs)-1]
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer makes a cluster and starts it; the test's cleanup stops it.
func startServer(t *testing.T) *server {
	s := &server{t: t, bin: bindir(t), port: freePort(t)}
	base, err := os.MkdirTemp("", "warden-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s.dir = filepath.Join(base, "data")
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as its own user.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root needs the postgres user (Debian's postgresql package makes it):", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.asOwner = []string{"runuser", "-u", "postgres", "--"}
	}
	s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	s.start()
	t.Cleanup(func() {
		if s.running() {
			s.ctl("stop", "-m", "fast")
		}
	})
	return s
}

// running reports whether the server is up.
func (s *server) running() bool {
	argv := append(append(append([]string(nil), s.asOwner...), filepath.Join(s.bin, "pg_ctl")), "-D", s.dir, "status")
	return exec.Command(argv[0], argv[1:]...).Run() == nil
}

func (s *server) run(name string, args ...string) {
	s.t.Helper()
	argv := append(append(append([]string(nil), s.asOwner...), filepath.Join(s.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (s *server) ctl(args ...string) {
	s.t.Helper()
	s.run("pg_ctl", append([]string{"-D", s.dir, "-w", "-t", "60"}, args...)...)
}

// start starts the server and waits until it accepts connections.
func (s *server) start() {
	s.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", s.port, filepath.Dir(s.dir))
	s.ctl("start", "-l", filepath.Join(filepath.Dir(s.dir), "log"), "-o", opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.url())
		if err == nil {
			conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			s.t.Fatal("the server never accepted connections:", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server at once, as a crash would: no shutdown
// checkpoint, every connection dropped.
func (s *server) kill() { s.ctl("stop", "-m", "immediate") }

func (s *server) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", s.port)
}
