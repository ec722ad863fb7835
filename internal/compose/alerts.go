// Package compose builds what each channel sends for a delivery job: it
// looks up the recipient (resident, hospital subscription, social account)
// and renders the alert for them with package render. It also tells the
// dispatcher whether an alert's jobs are still deliverable (not cancelled,
// not expired).
//
// Composers read; they never send, retry or record outcomes.
package compose

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

// AlertsConfig is what the alert cache needs.
type AlertsConfig struct {
	Log *alertlog.Log
	// StateTTL bounds how stale a cached state may be; a Cancel takes at
	// most this long to stop queued jobs.
	StateTTL time.Duration
	Now      func() time.Time
}

// Alerts caches accepted alerts (their CAP, parsed) and their state for
// the composers and the dispatcher: a fan-out to a million residents reads
// the same alert a million times.
type Alerts struct {
	AlertsConfig

	mu      sync.Mutex
	entries map[string]*alertEntry
}

// NewAlerts builds the alert cache.
func NewAlerts(cfg AlertsConfig) *Alerts { return &Alerts{AlertsConfig: cfg} }

type alertEntry struct {
	alert   *cap.Alert
	raw     []byte
	rec     *alertlog.Record
	fetched time.Time
}

// maxCached bounds the cache; active alerts are few.
const maxCached = 512

// Alert is one cached alert.
type Alert struct {
	CAP    *cap.Alert
	Raw    []byte
	Record *alertlog.Record
}

func (c *Alerts) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the alert with a state no older than StateTTL.
func (c *Alerts) Get(ctx context.Context, id string) (Alert, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*alertEntry{}
	}
	e := c.entries[id]
	c.mu.Unlock()
	now := c.now()
	if e != nil && now.Sub(e.fetched) < c.StateTTL {
		return Alert{CAP: e.alert, Raw: e.raw, Record: e.rec}, nil
	}
	rec, err := c.Log.Get(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	fresh := &alertEntry{rec: rec, fetched: now}
	if e != nil {
		fresh.alert, fresh.raw = e.alert, e.raw
	} else {
		raw, _, err := c.Log.Raw(ctx, id)
		if err != nil {
			return Alert{}, err
		}
		a, err := cap.Parse(raw)
		if err != nil {
			return Alert{}, fmt.Errorf("alert %s in the log does not parse: %w", id, err)
		}
		fresh.alert, fresh.raw = a, raw
	}
	c.mu.Lock()
	if len(c.entries) >= maxCached {
		for k := range c.entries { // evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = fresh
	c.mu.Unlock()
	return Alert{CAP: fresh.alert, Raw: fresh.raw, Record: rec}, nil
}

// Deliverable implements dispatch.AlertState.
func (c *Alerts) Deliverable(ctx context.Context, id string) (string, time.Time, error) {
	a, err := c.Get(ctx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	until := a.Record.ExpiresAt()
	switch lifecycle.Shown(a.Record.State, until, c.now()) {
	case lifecycle.Cancelled:
		return "alert cancelled", time.Time{}, nil
	case lifecycle.Expired:
		return "alert expired", until, nil
	case lifecycle.Rejected:
		return "alert rejected", time.Time{}, nil
	}
	return "", until, nil
}
