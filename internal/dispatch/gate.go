package dispatch

import (
	"sync"
	"time"
)

// Isolation keeps one slow or dead destination (a hospital's endpoint) from
// holding the channel's workers: at most MaxInFlight sends to one
// destination at a time, and a circuit breaker that stops trying a
// destination for a while after Threshold consecutive transient failures.
// Jobs refused by either wait in JetStream (nak with delay) and do not count
// as attempts.
type Isolation struct {
	// Destination names a message's destination (e.g. the webhook URL's
	// host); nil turns isolation off.
	Destination func(to string) string
	MaxInFlight int           // default 4
	Threshold   int           // consecutive failures that open the circuit; default 5
	Cooldown    time.Duration // first open period, doubled while failures go on; default 30s
	MaxCooldown time.Duration // default 10m
}

type gate struct {
	cfg   Isolation
	mu    sync.Mutex
	dests map[string]*destination
}

type destination struct {
	inFlight  int
	failures  int
	cooldown  time.Duration
	openUntil time.Time
}

func newGate(cfg Isolation) *gate {
	if cfg.Destination == nil {
		return nil
	}
	if cfg.MaxInFlight < 1 {
		cfg.MaxInFlight = 4
	}
	if cfg.Threshold < 1 {
		cfg.Threshold = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Second
	}
	if cfg.MaxCooldown < cfg.Cooldown {
		cfg.MaxCooldown = max(10*time.Minute, cfg.Cooldown)
	}
	return &gate{cfg: cfg, dests: map[string]*destination{}}
}

// busyRetry is how soon a job refused for a full destination is offered again.
const busyRetry = 250 * time.Millisecond

// acquire asks to send to key now; when refused, wait says when to try again
// and open whether the circuit is open (rather than the destination busy).
func (g *gate) acquire(key string, now time.Time) (ok bool, wait time.Duration, open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.dests[key]
	if d == nil {
		d = &destination{cooldown: g.cfg.Cooldown}
		g.dests[key] = d
	}
	if now.Before(d.openUntil) {
		return false, d.openUntil.Sub(now), true
	}
	if d.inFlight >= g.cfg.MaxInFlight {
		return false, busyRetry, false
	}
	d.inFlight++
	return true, 0, false
}

// release ends a send; failed means a transient failure (the destination
// looks down), which counts towards opening the circuit.
func (g *gate) release(key string, failed bool, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.dests[key]
	if d == nil {
		return
	}
	d.inFlight--
	if !failed {
		d.failures, d.cooldown, d.openUntil = 0, g.cfg.Cooldown, time.Time{}
		if d.inFlight == 0 {
			delete(g.dests, key) // healthy destinations need no memory
		}
		return
	}
	d.failures++
	if d.failures >= g.cfg.Threshold {
		// Half-open after the cooldown: the next send is a probe; if it
		// fails too, the circuit opens again for twice as long.
		d.openUntil = now.Add(d.cooldown)
		d.cooldown = min(2*d.cooldown, g.cfg.MaxCooldown)
	}
}
