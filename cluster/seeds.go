package cluster

import (
	"net"
	"net/http"
	"sync/atomic"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/labstack/echo/v4"
)

// Seeds returns a membership provider for a fixed set of nodes, with no
// service to run: protoactor's automanaged provider, where each node
// answers health checks over HTTP on its own address and polls the
// others' (members, host:port, this node's included). Unlike the
// automanaged provider as protoactor starts it, which listens on every
// interface, it listens on listen alone (such as 127.0.0.1:7100), so it
// can stay on loopback. The listener is made at once: a busy address
// fails here.
func Seeds(listen string, members ...string) (pcluster.ClusterProvider, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Listener = ln // echo serves it instead of listening on 0.0.0.0
	s := &seeds{}
	e.GET("/_health", func(c echo.Context) error {
		m := s.member.Load()
		if m == nil {
			return c.NoContent(http.StatusServiceUnavailable)
		}
		return c.JSON(http.StatusOK, m)
	})
	s.AutoManagedProvider = automanaged.NewWithTesting(2*time.Second, port, e, members...)
	s.port = port
	return s, nil
}

// seeds is the automanaged provider with its health endpoint served by
// Seeds' own server, which answers for the member once it has started.
type seeds struct {
	*automanaged.AutoManagedProvider
	port   int
	member atomic.Pointer[automanaged.NodeModel]
}

// StartMember starts the provider as a member, answering health checks
// for this node.
func (s *seeds) StartMember(c *pcluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	s.member.Store(automanaged.NewNode(c.Config.Name, c.ActorSystem.ID, host, port, s.port, c.GetClusterKinds()))
	return s.AutoManagedProvider.StartMember(c)
}
