// Package watchdog keeps an eye on the JetStream objects Herald cannot
// work without: it notices a stream or a durable consumer that is gone
// (deleted by an operator's mistake, lost with a server) or a consumer
// that stopped moving (work waiting, nothing delivered and nothing in
// hand for StallAfter), recreates or restarts the consumers by restarting
// the component that owns them, and reports what it cannot repair so that
// /readyz says so. Every finding is logged as an error and counted.
//
// It does not know what the streams hold or how the components work: the
// composition root tells it what to watch and how to restart each part.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Consumer is a durable consumer and how to bring it back.
type Consumer struct {
	Stream, Name string
	// Restart stops and starts the component that consumes with it, which
	// recreates the consumer.
	Restart func(ctx context.Context) error
}

// Config is what a Watchdog needs.
type Config struct {
	JS        jetstream.JetStream
	Streams   []string
	Consumers []Consumer
	Every     time.Duration
	// StallAfter is how long a consumer may have work waiting with
	// nothing delivered and nothing in hand before it is restarted
	// (0: 30 s).
	StallAfter time.Duration
	Logger     *slog.Logger
	Metrics    prometheus.Registerer
}

// Watchdog checks every Config.Every until Stop.
type Watchdog struct {
	cfg     Config
	repairs *prometheus.CounterVec
	missing *prometheus.CounterVec
	stalls  *prometheus.CounterVec
	// progress remembers, per consumer, the last delivered sequence and
	// since when it has not moved.
	progress map[string]progress

	mu      sync.Mutex
	problem error

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New builds a watchdog; Start begins the checks.
func New(cfg Config) *Watchdog {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = 30 * time.Second
	}
	w := &Watchdog{
		cfg:      cfg,
		progress: map[string]progress{},
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_jetstream_stalls_total",
			Help: "Durable consumers found with work waiting but not moving, and restarted, by consumer."}, []string{"object"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_jetstream_repairs_total",
			Help: "Durable consumers found missing and recreated, by consumer."}, []string{"object"}),
		missing: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_jetstream_missing_total",
			Help: "Checks that found a stream or consumer missing, by object."}, []string{"object"}),
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(w.repairs, w.missing, w.stalls)
	}
	for _, s := range cfg.Streams {
		w.missing.WithLabelValues(s)
	}
	for _, c := range cfg.Consumers {
		w.missing.WithLabelValues(c.Name)
		w.repairs.WithLabelValues(c.Name)
		w.stalls.WithLabelValues(c.Name)
	}
	return w
}

// Start checks in the background until Stop.
func (w *Watchdog) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(w.cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.Check(ctx)
			}
		}
	}()
}

// Stop ends the checks.
func (w *Watchdog) Stop() {
	if w.cancel != nil {
		w.cancel()
		w.done.Wait()
	}
}

// Err is what the last check could not repair, nil when all is well.
func (w *Watchdog) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.problem
}

type progress struct {
	delivered uint64
	since     time.Time
}

// stalled reports whether a consumer had work waiting, nothing in hand and
// no delivery for StallAfter; it then starts counting afresh.
func (w *Watchdog) stalled(name string, info *jetstream.ConsumerInfo, now time.Time) bool {
	p, seen := w.progress[name]
	if !seen || info.Delivered.Stream != p.delivered || info.NumPending == 0 || info.NumAckPending > 0 {
		w.progress[name] = progress{delivered: info.Delivered.Stream, since: now}
		return false
	}
	if now.Sub(p.since) < w.cfg.StallAfter {
		return false
	}
	w.progress[name] = progress{delivered: info.Delivered.Stream, since: now}
	return true
}

// Check makes one pass: streams must exist; a missing consumer is
// recreated.
func (w *Watchdog) Check(ctx context.Context) {
	var problems []string
	for _, name := range w.cfg.Streams {
		_, err := w.cfg.JS.Stream(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			w.missing.WithLabelValues(name).Inc()
			w.cfg.Logger.Error("JetStream stream missing; Herald cannot work without it", "stream", name)
			problems = append(problems, "stream "+name+" is missing")
		case err != nil && ctx.Err() == nil:
			problems = append(problems, fmt.Sprintf("stream %s: %v", name, err))
		}
	}
	for _, c := range w.cfg.Consumers {
		cons, err := w.cfg.JS.Consumer(ctx, c.Stream, c.Name)
		switch {
		case err == nil:
			if w.stalled(c.Name, cons.CachedInfo(), time.Now()) {
				w.stalls.WithLabelValues(c.Name).Inc()
				w.cfg.Logger.Error("JetStream consumer has work waiting and is not moving; restarting it", "consumer", c.Name, "for", w.cfg.StallAfter)
				if err := c.Restart(ctx); err != nil {
					problems = append(problems, fmt.Sprintf("consumer %s is stalled and could not be restarted: %v", c.Name, err))
				}
			}
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			w.missing.WithLabelValues(c.Name).Inc()
			delete(w.progress, c.Name)
			w.cfg.Logger.Error("JetStream consumer missing; recreating it", "stream", c.Stream, "consumer", c.Name)
			if err := c.Restart(ctx); err != nil {
				w.cfg.Logger.Error("could not recreate consumer", "consumer", c.Name, "error", err)
				problems = append(problems, fmt.Sprintf("consumer %s is missing and could not be recreated: %v", c.Name, err))
				continue
			}
			w.repairs.WithLabelValues(c.Name).Inc()
		case errors.Is(err, jetstream.ErrStreamNotFound):
			// Reported with the streams.
		case err != nil && ctx.Err() == nil:
			problems = append(problems, fmt.Sprintf("consumer %s: %v", c.Name, err))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problem = nil
	if len(problems) > 0 {
		w.problem = errors.New(strings.Join(problems, "; "))
	}
}
