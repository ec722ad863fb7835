// Package app is Herald's composition root: from a config.Config it starts
// the embedded nats-server (or connects to an external cluster), creates
// the streams and buckets, loads regions and originators, and runs intake,
// the planner, the dispatchers and the HTTP API. cmd/herald and the
// end-to-end tests both start Herald through it.
//
// It is the one place that knows concrete adapters, nats-server and config;
// the packages it wires know none of them.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/audit"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/dispatch"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/httpapi"
	"github.com/herald-alerts/herald/internal/intake"
	"github.com/herald-alerts/herald/internal/keywords"
	"github.com/herald-alerts/herald/internal/natsapi"
	"github.com/herald-alerts/herald/internal/originators"
	"github.com/herald-alerts/herald/internal/plan"
	"github.com/herald-alerts/herald/internal/recipients"
	"github.com/herald-alerts/herald/internal/replay"
	"github.com/herald-alerts/herald/internal/residents"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/sms"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/geo/zips"
)

// App is a running Herald.
type App struct {
	cfg     *config.Config
	logger  *slog.Logger
	ns      *server.Server // nil with an external NATS
	nc      *nats.Conn
	js      jetstream.JetStream
	log     *alertlog.Log
	regions *geo.Registry
	origs   *originators.Store
	planner *plan.Planner
	submit  *nats.Subscription
	http    *http.Server
	httpLn  net.Listener
	httpErr chan error

	metrics     *prometheus.Registry
	index       *geo.PointIndex
	residents   *residents.Store
	hospitals   *hospitals.Store
	deliveries  *deliveries.Store
	social      bool
	stopFollow  context.CancelFunc
	stopSweeper context.CancelFunc
	stopWatch   context.CancelFunc
	audit       *audit.Log
	intake      *intake.Service
	dispatchers []*dispatch.Dispatcher
}

// Options are what a caller may add beside the configuration.
type Options struct {
	// Logger defaults to a text logger on stderr at the configured level.
	Logger *slog.Logger
	// Regions, when set, is used instead of loading cfg.Regions (tests and
	// the demo share one loaded registry between several runs).
	Regions *geo.Registry
	// Notifiers replaces the adapters built from the configuration, per
	// channel (the demo's local sinks).
	Notifiers map[string]channels.Notifier
}

// Start runs Herald until Stop. On error everything started is stopped.
func Start(ctx context.Context, cfg *config.Config, opt Options) (_ *App, err error) {
	a := &App{cfg: cfg, logger: opt.Logger, regions: opt.Regions, httpErr: make(chan error, 1), index: geo.NewPointIndex()}
	if a.logger == nil {
		a.logger = NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	}
	defer func() {
		if err != nil {
			a.Stop(context.Background())
		}
	}()
	// Listen first: with port 0 the public URL (SMS links, Twilio
	// callbacks) is only known once the port is.
	if a.httpLn, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return nil, fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	if u := cfg.HTTP.PublicURL; u == "" || strings.HasSuffix(u, ":0") {
		c := *cfg
		c.HTTP.PublicURL = "http://" + a.httpLn.Addr().String()
		cfg = &c
	}
	a.cfg = cfg
	if a.regions == nil {
		if a.regions, err = LoadRegions(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.NATS.URL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
		}
	}
	// Herald's own key for the embedded server, new each start and never
	// written down.
	svc, err := nkeys.CreateUser()
	if err != nil {
		return nil, err
	}
	if cfg.NATS.URL == "" {
		if a.ns, err = startEmbedded(cfg, svc); err != nil {
			return nil, err
		}
	}
	if a.nc, err = connect(cfg, a.ns, svc, a.logger); err != nil {
		return nil, err
	}
	if a.js, err = jetstream.New(a.nc); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	replicas := cfg.NATS.Replicas
	if replicas < 1 || a.ns != nil {
		replicas = 1
	}
	if a.log, err = alertlog.Open(ctx, a.js, replicas); err != nil {
		return nil, err
	}
	if a.origs, err = originators.NewStore(cfg.OriginatorsFile, func(id string) bool { _, ok := a.regions.Region(id); return ok }); err != nil {
		return nil, err
	}
	if a.origs.Current().Len() == 0 {
		a.logger.Warn("no originators configured: nobody can issue alerts yet", "originators_file", cfg.OriginatorsFile)
	}

	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	in := intake.NewService(a.log, a.origs, a.regions, a.logger, a.metrics)
	// Remember signatures a little longer than the ±5 min window they are
	// valid in.
	if in.Replay, err = replay.Open(ctx, a.js, replicas, 2*signing.MaxSkew+time.Minute); err != nil {
		return nil, err
	}
	if a.audit, err = audit.Open(ctx, a.js, replicas); err != nil {
		return nil, err
	}
	in.Audit = a.audit
	in.ToleranceM = cfg.Jurisdiction.ToleranceM
	a.intake = in

	if err := a.startDelivery(ctx, cfg, opt, replicas); err != nil {
		return nil, err
	}
	stage := &recipients.Stage{
		JS: a.js, Regions: a.regions, Index: a.index, Residents: a.residents, Hospitals: a.hospitals,
		Deliveries: a.deliveries, Social: a.social, Logger: a.logger,
		// The dispatchers' view of an alert's state is at most a second old.
		Settle: 2 * time.Second,
	}
	in.Recipients = stage
	in.Approval = intake.ApprovalPolicy{
		Severities:    cfg.Approval.RequiredFor.Severity,
		MinRecipients: cfg.Approval.RequiredFor.MinRecipients,
		MinAreaKm2:    cfg.Approval.RequiredFor.MinAreaKm2,
		Timeout:       cfg.Approval.Timeout,
	}
	a.planner = plan.New(a.js, a.log, a.logger, stage)
	a.planner.ApprovalTimeout = cfg.Approval.Timeout
	a.startApprovalSweeper(cfg.Approval.Timeout)
	wctx, stopWatch := context.WithCancel(context.Background())
	a.stopWatch = stopWatch
	go a.watchOriginators(wctx)
	if err := a.planner.Start(ctx); err != nil {
		return nil, err
	}
	if a.submit, err = natsapi.Serve(a.nc, in, a.logger); err != nil {
		return nil, err
	}

	zipTable, err := zips.Load()
	if err != nil {
		return nil, err
	}
	texts, err := keywords.LoadTexts()
	if err != nil {
		return nil, err
	}
	inbound := &httpapi.Inbound{Residents: a.residents, ZIPs: zipTable, Texts: texts, Sender: cfg.SMS.SenderName, Contact: cfg.SMS.HelpContact}
	api := &httpapi.Server{
		Intake: in, Log: a.log, Regions: a.regions, AdminToken: cfg.HTTP.AdminToken, Logger: a.logger,
		Ready:      a.Ready,
		Metrics:    promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}),
		Residents:  a.residents,
		Hospitals:  a.hospitals,
		Deliveries: a.deliveries,
		Recipients: stage,
		Inbound:    inbound,
		Audit:      a.audit,
		PublicURL:  cfg.HTTP.PublicURL,
		VerifyTwilio: func(r *http.Request) error {
			if cfg.Twilio.AuthToken == "" {
				// Without a token any signature would "verify".
				return errors.New("twilio.auth_token not configured")
			}
			return sms.VerifyCallback(r, cfg.Twilio.AuthToken, cfg.HTTP.PublicURL)
		},
	}
	a.http = &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	go func() { a.httpErr <- a.http.Serve(a.httpLn) }()
	a.logger.Info("herald started", "http", a.HTTPURL(), "nats", a.NATSURL(), "regions", a.regions.Len(), "originators", a.origs.Current().Len())
	return a, nil
}

// startApprovalSweeper expires alerts that waited longer than timeout for
// approval, so they are never sent. Every process sweeps; the state
// transition is atomic, so each alert expires once.
func (a *App) startApprovalSweeper(timeout time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopSweeper = cancel
	every := min(max(timeout/4, 100*time.Millisecond), 15*time.Second)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			recs, err := a.log.List(ctx)
			if err != nil {
				continue
			}
			for _, rec := range recs {
				if rec.State == alertlog.StatePendingApproval && time.Since(rec.AcceptedAt) > timeout {
					if _, ok, err := a.log.Transition(ctx, rec.ID, alertlog.StateExpired, alertlog.StatePendingApproval); err == nil && ok {
						a.logger.Warn("alert expired unapproved; it will not be sent", "id", rec.ID, "waited", timeout)
						a.intake.Record(ctx, audit.Record{Kind: audit.KindApproval, Actor: audit.ActorSystem, AlertID: rec.ID,
							Outcome: audit.OutcomeExpired, Reason: "not approved within " + timeout.String()})
					}
				}
			}
		}
	}()
}

// LoadRegions loads the configured region sources.
func LoadRegions(cfg *config.Config) (*geo.Registry, error) {
	sources := make([]geo.Source, len(cfg.Regions))
	for i, r := range cfg.Regions {
		sources[i] = geo.Source{File: r.File, IDProperty: r.IDProperty, NameProperty: r.NameProperty, Prefix: r.Prefix, Geocode: r.Geocode}
	}
	reg, err := geo.Load(sources)
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	return reg, nil
}

// Ready reports whether Herald can accept alerts: NATS connected and the
// streams answering.
func (a *App) Ready(ctx context.Context) error {
	if a.nc == nil || a.nc.Status() != nats.CONNECTED {
		return errors.New("nats: not connected")
	}
	return a.log.Ready(ctx)
}

// HTTPURL is the address the API listens on (useful with port 0).
func (a *App) HTTPURL() string {
	if a.httpLn == nil {
		return ""
	}
	return "http://" + a.httpLn.Addr().String()
}

// NATSURL is where hospitals and other Herald processes reach the embedded
// server; empty when it listens in-process only or NATS is external.
func (a *App) NATSURL() string {
	if a.ns == nil || a.cfg.NATS.Listen == "" {
		return ""
	}
	return a.ns.ClientURL()
}

// Conn is Herald's own NATS connection.
func (a *App) Conn() *nats.Conn { return a.nc }

// ReloadOriginators re-reads the originators file (SIGHUP, or a change
// seen by the watcher); on error the previous set stays in force. Either
// way the audit trail records it.
func (a *App) ReloadOriginators(ctx context.Context) error {
	err := a.origs.Reload()
	entry := audit.Record{Kind: audit.KindConfigReload, Actor: audit.ActorSystem, Outcome: audit.OutcomeReloaded,
		Detail: map[string]string{"file": a.origs.Path(), "originators": fmt.Sprint(a.origs.Current().Len())}}
	if err != nil {
		entry.Outcome, entry.Reason = audit.OutcomeRefused, err.Error()
		a.logger.Error("originators reload failed; keeping the previous set", "error", err)
	} else {
		a.logger.Info("originators reloaded", "count", a.origs.Current().Len())
	}
	a.intake.Record(ctx, entry)
	return err
}

// watchOriginators reloads the originators file when it changes, so a
// removed or rotated key stops working without a signal.
func (a *App) watchOriginators(ctx context.Context) {
	path := a.origs.Path()
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return "absent"
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := stamp(); now != last {
			last = now
			_ = a.ReloadOriginators(ctx)
		}
	}
}

// Regions is the loaded region registry.
func (a *App) Regions() *geo.Registry { return a.regions }

// PublicURL is the base URL used in links and callbacks.
func (a *App) PublicURL() string { return a.cfg.HTTP.PublicURL }

// Logger is the app's logger.
func (a *App) Logger() *slog.Logger { return a.logger }

// Err reports the HTTP server stopping on its own (a fatal error).
func (a *App) Err() <-chan error { return a.httpErr }

// Stop drains in-flight work and shuts down, within ctx's deadline.
func (a *App) Stop(ctx context.Context) {
	if a.http != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			a.logger.Warn("http shutdown", "error", err)
		}
	} else if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.submit != nil {
		_ = a.submit.Drain()
	}
	if a.planner != nil {
		a.planner.Stop()
	}
	for _, d := range a.dispatchers {
		d.Stop(ctx)
	}
	if a.stopFollow != nil {
		a.stopFollow()
	}
	if a.stopSweeper != nil {
		a.stopSweeper()
	}
	if a.stopWatch != nil {
		a.stopWatch()
	}
	if a.nc != nil {
		_ = a.nc.Drain()
		for a.nc.IsDraining() {
			select {
			case <-ctx.Done():
				a.nc.Close()
			case <-time.After(20 * time.Millisecond):
			}
		}
		a.nc.Close()
	}
	if a.ns != nil {
		a.ns.Shutdown()
		a.ns.WaitForShutdown()
	}
}
