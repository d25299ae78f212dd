package bench

import (
	"context"
	"fmt"
	"net"

	ptest "github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/cluster"
	"github.com/warden-go/warden/executor"
)

// wardenClustered is warden-handle with its metrics off, joined to a
// one-node cluster (protoactor's in-memory membership, a remote on
// loopback) that shares every dependency's breaker: its cost on the hot
// path is what the node's batches take from the machine.
var wardenClustered = peer{"warden-handle-clustered", func(s setup) (caller, func(), error) {
	ex, call, stop, err := handles(s, []executor.Option{executor.WithMeterProvider(nil)})
	if err != nil {
		return nil, nil, err
	}
	breakers := map[string]breaker.Policy{}
	for i := range s.deps {
		breakers[fmt.Sprint("dep-", i)] = breaker.Policy{FailureThreshold: s.threshold, OpenTimeout: 3600e9}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	node, err := cluster.Join(context.Background(), ex, cluster.Config{Name: "bench", Port: port,
		Provider: ptest.NewTestProvider(ptest.NewInMemAgent()), Breakers: breakers})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return call, func() { node.Leave(); stop() }, nil
}}
