// Package localetcd starts a single-member etcd (the etcd binary, such as
// Debian's etcd-server package installs) on 127.0.0.1, for the cluster's
// tests and demo.
package localetcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Server is a running etcd.
type Server struct {
	// Endpoint is its client address, host:port.
	Endpoint string
	cmd      *exec.Cmd
	log      *os.File
}

// Start runs etcd with its data and log in dir, on free loopback ports,
// and waits until it answers a write, for up to 30 s.
func Start(dir string) (*Server, error) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return nil, errors.New("no etcd binary on PATH: install etcd (Debian: apt-get install etcd-server)")
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	client, peer, metrics := ports[0], ports[1], ports[2]
	s := &Server{Endpoint: fmt.Sprintf("127.0.0.1:%d", client)}
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s.cmd = exec.Command(bin, "--data-dir", filepath.Join(dir, "data"), "--name", "warden",
		"--listen-client-urls", "http://"+s.Endpoint, "--advertise-client-urls", "http://"+s.Endpoint,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "warden="+peerURL,
		"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", metrics))
	if s.log, err = os.Create(filepath.Join(dir, "etcd.log")); err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.log.Close()
		return nil, err
	}
	if err := s.await(30 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) await(within time.Duration) error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Put(ctx, "/warden/ready", "1")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd never answered (its log: %s): %w", s.log.Name(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills etcd and waits for it.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.log.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
