package executor

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
