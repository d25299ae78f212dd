package executor

import "github.com/asynkron/protoactor-go/actor"

// Site names a place where WithFaultHook injects crashes.
type Site = site

// Fault sites.
const (
	SiteWorker  = siteWorker
	SiteBreaker = siteBreaker
	SiteRetrier = siteRetrier
)

// WithFaultHook calls fn at each fault site; a panic in fn crashes that
// worker or actor as a bug would, and its supervisor restarts it. For
// fault drills in tests only.
func WithFaultHook(fn func(s Site, dependency string)) Option {
	return optionFunc(func(c *config) { c.fault = fn })
}

// sendDeadLetter sends a message to an actor that does not exist in the
// executor's actor system.
func (ex *Executor) sendDeadLetter() {
	ex.system.Root.Send(actor.NewPID(ex.system.Address(), "nobody-here"), "lost")
}
