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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/sms"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/geo/zips"
	"github.com/herald-alerts/herald/internal/acks"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/audit"
	"github.com/herald-alerts/herald/internal/compose"
	"github.com/herald-alerts/herald/internal/console"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/httpapi"
	"github.com/herald-alerts/herald/internal/intake"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/keywords"
	"github.com/herald-alerts/herald/internal/natsapi"
	"github.com/herald-alerts/herald/internal/originators"
	"github.com/herald-alerts/herald/internal/plan"
	"github.com/herald-alerts/herald/internal/recipients"
	"github.com/herald-alerts/herald/internal/replay"
	"github.com/herald-alerts/herald/internal/residents"
	"github.com/herald-alerts/herald/internal/session"
	"github.com/herald-alerts/herald/internal/sweep"
	"github.com/herald-alerts/herald/internal/templates"
	"github.com/herald-alerts/herald/internal/watchdog"
)

// ErrDataDirLocked is returned by Start when another Herald runs the
// embedded server on the same data_dir.
var ErrDataDirLocked = errors.New("data_dir locked")

// App is a running Herald.
type App struct {
	cfg    *config.Config
	logger *slog.Logger
	ns     *server.Server // nil with an external NATS
	// feeders create the hospitals' feed streams on the embedded server.
	feeders map[string]nkeys.KeyPair
	nc      *nats.Conn
	js      jetstream.JetStream
	log     *alertlog.Log
	regions *geo.Registry
	origs   *originators.Store
	http    *http.Server
	httpLn  net.Listener
	httpErr chan error

	metrics    *prometheus.Registry
	index      *geo.PointIndex
	indexReady chan struct{} // closed once the index holds every resident stored at start
	indexOnce  sync.Once
	residents  *residents.Store
	hospitals  *hospitals.Store
	acks       *acks.Store
	deliveries *deliveries.Store
	audit      *audit.Log
	replay     *replay.Guard
	sessions   *session.Manager
	templates  []templates.Template
	intake     *intake.Service
	// socialAccounts are the configured social accounts (recipient ids).
	socialAccounts []string

	// watched are the durable consumers the watchdog recreates.
	watched []watchdog.Consumer
	sweeper *sweep.Sweeper
	// previewer shows officers the words each channel would send.
	previewer *compose.Previewer
	watchdog  *watchdog.Watchdog

	// teardown holds what Stop undoes, in the order it was started; Stop
	// runs it backwards, so a part stops before what it depends on.
	teardown []func(ctx context.Context)
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
	Notifiers map[channels.Channel]channels.Notifier
	// SocialAccounts name the accounts a replaced social notifier posts
	// for (default: mastodon).
	SocialAccounts []string
}

// onStop pushes an undo step on the teardown stack.
func (a *App) onStop(f func(ctx context.Context)) { a.teardown = append(a.teardown, f) }

// Start runs Herald until Stop. On error everything started is stopped.
func Start(ctx context.Context, cfg *config.Config, opt Options) (_ *App, err error) {
	a := &App{cfg: cfg, logger: opt.Logger, regions: opt.Regions, httpErr: make(chan error, 1), index: geo.NewPointIndex(), indexReady: make(chan struct{})}
	if a.logger == nil {
		a.logger = NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	}
	defer func() {
		if err != nil {
			a.Stop(context.Background())
		}
	}()
	// The embedded server's store is this process's alone: lock it before
	// anything else, so a second Herald says so instead of failing on a
	// busy port.
	if cfg.NATS.URL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
		}
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		a.onStop(func(context.Context) { unlock() })
	}
	// Listen first: with port 0 the public URL (SMS links, Twilio
	// callbacks) is only known once the port is.
	if a.httpLn, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return nil, fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	a.onStop(func(context.Context) { a.httpLn.Close() })
	if u := cfg.HTTP.PublicURL; u == "" || strings.HasSuffix(u, ":0") {
		c := *cfg
		c.HTTP.PublicURL = "http://" + a.httpLn.Addr().String()
		cfg = &c
	}
	a.warnUnreachable(cfg)
	a.cfg = cfg
	if a.regions == nil {
		if a.regions, err = LoadRegions(cfg); err != nil {
			return nil, err
		}
	}
	if err := a.startNATS(cfg); err != nil {
		return nil, err
	}
	replicas := cfg.NATS.Replicas
	if replicas < 1 || a.ns != nil {
		replicas = 1
	}
	if a.log, err = alertlog.Open(ctx, alertlog.Config{JS: a.js, Replicas: replicas}); err != nil {
		return nil, err
	}
	// A damaged log would lose alerts silently: refuse to start, naming
	// it (documented in the README; `herald check` says more).
	if err := a.log.Intact(ctx); err != nil {
		return nil, fmt.Errorf("alert log: %w; Herald will not start on it: run `herald check` and restore the data_dir from a backup", err)
	}
	if err := ensureFeeds(ctx, a.ns, a.feeders); err != nil {
		return nil, err
	}
	// Stamped before it is read: a change made while Herald starts is
	// reloaded, never missed.
	origStamp := fileStamp(cfg.OriginatorsFile)
	if a.origs, err = originators.New(originators.Config{Path: cfg.OriginatorsFile, RegionExists: func(id string) bool { _, ok := a.regions.Region(id); return ok }}); err != nil {
		return nil, err
	}
	if a.origs.Current().Len() == 0 {
		a.logger.Warn("no originators configured: nobody can issue alerts yet", "originators_file", cfg.OriginatorsFile)
	}
	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo())
	// Remember signatures a little longer than the ±5 min window they are
	// valid in.
	if a.replay, err = replay.Open(ctx, replay.Config{JS: a.js, Replicas: replicas, Window: 2*signing.MaxSkew + time.Minute}); err != nil {
		return nil, err
	}
	if a.sessions, err = session.Open(ctx, a.js, replicas, cfg.Console.SessionTTL); err != nil {
		return nil, err
	}
	if a.templates, err = templates.Load(filepath.Join(cfg.DataDir, "templates")); err != nil {
		return nil, err
	}
	if a.audit, err = audit.Open(ctx, audit.Config{JS: a.js, Replicas: replicas}); err != nil {
		return nil, err
	}
	if err := a.checkAudit(ctx); err != nil {
		return nil, fmt.Errorf("%w; Herald will not start on it: run `herald check` and restore the data_dir from a backup", err)
	}

	a.socialAccounts = socialAccounts(cfg, opt)
	if err := a.openDelivery(ctx, cfg, replicas); err != nil {
		return nil, err
	}
	stage := recipients.New(recipients.Config{
		JS: a.js, Regions: a.regions, Index: a.index, Residents: a.residents, Hospitals: a.hospitals,
		Deliveries: a.deliveries, SocialAccounts: a.socialAccounts, Logger: a.logger, Ready: a.indexReady,
		// The dispatchers' view of an alert's state is at most a second old.
		Settle: 2 * time.Second,
	})
	a.intake = intake.New(intake.Config{
		Log: a.log, Originators: a.origs, Regions: a.regions, Logger: a.logger, Metrics: a.metrics,
		Replay: a.replay, Audit: a.audit, Writable: a.storageOK,
		// Headers (signature, ids, regions) travel with the body; 8 KiB
		// covers them with room to spare.
		MaxBody: int(a.nc.MaxPayload()) - 8<<10, ToleranceM: cfg.Jurisdiction.ToleranceM, Recipients: stage,
		Approval: intake.ApprovalPolicy{
			Severities:    severities(cfg.Approval.RequiredFor.Severity),
			MinRecipients: cfg.Approval.RequiredFor.MinRecipients,
			MinAreaKm2:    cfg.Approval.RequiredFor.MinAreaKm2,
			Timeout:       cfg.Approval.Timeout,
		},
	})
	if err := a.startDispatch(ctx, cfg, opt, replicas); err != nil {
		return nil, err
	}
	// Acknowledgement records come first, so every webhook finds its own
	// and carries the link.
	ackStage := &acks.Stage{Store: a.acks, Policy: ackPolicy(cfg), Hospitals: a.hospitals}
	planner := plan.New(plan.Config{JS: a.js, Log: a.log, Stages: []plan.Stage{ackStage, stage}, ApprovalTimeout: cfg.Approval.Timeout, Logger: a.logger})
	if err := planner.Start(ctx); err != nil {
		return nil, err
	}
	a.onStop(func(context.Context) { planner.Stop() })
	a.watched = append(a.watched, watchdog.Consumer{Stream: alertlog.StreamName, Name: plan.ConsumerName, Restart: planner.Restart})
	a.watchdog = watchdog.New(watchdog.Config{
		JS: a.js, Consumers: a.watched, Logger: a.logger, Metrics: a.metrics,
		Streams: []string{alertlog.StreamName, jobs.StreamName, audit.StreamName, "KV_" + alertlog.StateBucket, "KV_" + deliveries.Bucket, "KV_" + deliveries.FailuresBucket},
	})
	a.watchdog.Start()
	a.onStop(func(context.Context) { a.watchdog.Stop() })
	a.sweeper = sweep.New(sweep.Config{
		Alerts: a.log, Deliveries: a.deliveries, ApprovalTimeout: cfg.Approval.Timeout,
		Every: min(max(cfg.Approval.Timeout/4, 100*time.Millisecond), time.Second),
		OnExpired: func(ctx context.Context, rec *alertlog.Record) {
			a.intake.Record(ctx, audit.Record{Kind: audit.KindApproval, Actor: audit.ActorSystem, AlertID: rec.ID,
				Outcome: audit.OutcomeExpired, Reason: "not approved within " + cfg.Approval.Timeout.String()})
		},
		Logger: a.logger, Metrics: a.metrics,
	})
	a.sweeper.Start()
	a.onStop(func(context.Context) { a.sweeper.Stop() })
	wctx, stopWatch := context.WithCancel(context.Background())
	go a.watchOriginators(wctx, origStamp)
	a.onStop(func(context.Context) { stopWatch() })
	// Refusals before a valid signature are summarized, once a minute.
	fctx, stopFlush := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				a.intake.FlushRefusals(fctx, time.Minute)
			}
		}
	}()
	a.onStop(func(ctx context.Context) {
		stopFlush()
		a.intake.FlushRefusals(ctx, time.Minute)
	})
	submit, err := natsapi.Serve(natsapi.Config{Conn: a.nc, Intake: a.intake, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	a.onStop(func(context.Context) { _ = submit.Drain() })
	if err := a.startHTTP(cfg, stage); err != nil {
		return nil, err
	}
	a.logger.Info("herald started", "http", a.HTTPURL(), "nats", a.NATSURL(), "regions", a.regions.Len(), "originators", a.origs.Current().Len())
	return a, nil
}

// startHTTP serves the API on the listener opened first.
func (a *App) startHTTP(cfg *config.Config, stage *recipients.Stage) error {
	zipTable, err := zips.Load()
	if err != nil {
		return err
	}
	texts, err := keywords.LoadTexts()
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Config{
		Intake: a.intake, Log: a.log, Regions: a.regions, AdminToken: cfg.HTTP.AdminToken, Logger: a.logger,
		Ready:      a.Ready,
		Metrics:    promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}),
		Residents:  a.residents,
		Hospitals:  a.hospitals,
		Deliveries: a.deliveries,
		Recipients: stage,
		Inbound: &httpapi.Inbound{Residents: a.residents, ZIPs: zipTable, Texts: texts, Sender: cfg.SMS.SenderName, Contact: cfg.SMS.HelpContact, Seen: a.replay,
			Acks: acks.SMSAcks{Store: a.acks, Subscriptions: a.hospitals}},
		Acks:       a.acks,
		Audit:      a.audit,
		PublicURL:  cfg.HTTP.PublicURL,
		ClientRate: cfg.HTTP.ClientRate, ClientBurst: cfg.HTTP.ClientBurst, Started: time.Now(), Texts: a.previewer, SMSRate: cfg.SMS.SegmentRate(), RotationGrace: cfg.Webhooks.RotationGrace,
		Sessions: a.sessions, Templates: a.templates, ConsoleAssets: console.Handler(cfg.Console.TileURL),
		Console: httpapi.ConsoleSettings{TileURL: cfg.Console.TileURL, TileAttribution: cfg.Console.TileAttribution, ApprovalSeverities: cfg.Approval.RequiredFor.Severity},
		VerifyTwilio: func(r *http.Request) error {
			if cfg.Twilio.AuthToken == "" {
				// Without a token any signature would "verify".
				return errors.New("twilio.auth_token not configured")
			}
			return sms.VerifyCallback(r, cfg.Twilio.AuthToken, cfg.HTTP.PublicURL)
		},
	})
	a.http = &http.Server{
		Handler: api.Handler(),
		// A slow client holds a connection for at most this long; alert
		// bodies get a tighter deadline of their own (httpapi), the
		// longest reads are CSV imports.
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	go func() { a.httpErr <- a.http.Serve(a.httpLn) }()
	a.onStop(func(ctx context.Context) {
		if err := a.http.Shutdown(ctx); err != nil {
			a.logger.Warn("http shutdown", "error", err)
		}
	})
	return nil
}

// warnUnreachable says, at start, when nothing will reach anyone: SMS only
// logged, or links and Twilio callbacks pointing at this machine.
func (a *App) warnUnreachable(cfg *config.Config) {
	if cfg.SMS.Provider == "log" {
		a.logger.Warn("sms.provider is log: no text message leaves Herald; SMS are written to this log and recorded as logged, not sent. Set sms.provider: twilio to send them")
		return
	}
	u, err := url.Parse(cfg.HTTP.PublicURL)
	if err != nil {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		a.logger.Warn("http.public_url points at this machine: the links in SMS and posts, and Twilio's status callbacks, will reach nobody. Set http.public_url to the address residents and Twilio reach Herald at", "public_url", cfg.HTTP.PublicURL)
	}
}

// severities types the configured approval severities (validated by
// config).
func severities(names []string) []cap.Severity {
	out := make([]cap.Severity, len(names))
	for i, n := range names {
		out[i] = cap.Severity(n)
	}
	return out
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

// minFree is the space the embedded store must have left for Herald to
// take alerts: below it an alert could be acknowledged by nobody.
const minFree = 64 << 20

// storageOK reports whether the embedded store's disk has room, with the
// reason when not (always nil on an external cluster).
func (a *App) storageOK() error {
	if a.ns == nil {
		return nil
	}
	free, err := freeBytes(a.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir %s: %w", a.cfg.DataDir, err)
	}
	if free < minFree {
		return fmt.Errorf("data_dir %s has %d MiB free (at least %d MiB needed): JetStream cannot store alerts; free disk space", a.cfg.DataDir, free>>20, minFree>>20)
	}
	return nil
}

// Ready reports whether Herald can accept alerts: NATS connected, room on
// the disk and the streams taking writes.
func (a *App) Ready(ctx context.Context) error {
	if a.nc == nil || a.nc.Status() != nats.CONNECTED {
		return errors.New("nats: not connected")
	}
	if err := a.storageOK(); err != nil {
		return err
	}
	if err := a.watchdog.Err(); err != nil {
		return err
	}
	if err := a.sweeper.Err(); err != nil {
		return err
	}
	if err := a.log.Ready(ctx); err != nil {
		return err
	}
	select {
	case <-a.indexReady:
		return nil
	default:
		return fmt.Errorf("resident index loading: %d residents so far; alerts are accepted and will be planned once it is loaded", a.index.Len())
	}
}

// WaitIndex waits until the resident index holds every resident stored
// when Herald started, or ctx ends.
func (a *App) WaitIndex(ctx context.Context) error {
	select {
	case <-a.indexReady:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("load residents: %w (%d so far)", ctx.Err(), a.index.Len())
	}
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

// AlertID is the id Herald gives the alert with this CAP sender and
// identifier (the load tool watches for an alert before publishing it).
func (a *App) AlertID(sender, identifier string) string { return a.log.ID(sender, identifier) }

// IndexedResidents is how many residents the planner's index holds; it
// follows the store, so an import shows here shortly after it returns.
func (a *App) IndexedResidents() int { return a.index.Len() }

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
func (a *App) watchOriginators(ctx context.Context, last string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := fileStamp(a.origs.Path()); now != last {
			last = now
			_ = a.ReloadOriginators(ctx)
		}
	}
}

// fileStamp changes when the file at path is written, removed or created.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "absent"
	}
	return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
}

// Regions is the loaded region registry.
func (a *App) Regions() *geo.Registry { return a.regions }

// PublicURL is the base URL used in links and callbacks.
func (a *App) PublicURL() string { return a.cfg.HTTP.PublicURL }

// Logger is the app's logger.
func (a *App) Logger() *slog.Logger { return a.logger }

// Err reports the HTTP server stopping on its own (a fatal error).
func (a *App) Err() <-chan error { return a.httpErr }

// Stop drains in-flight work and shuts down, within ctx's deadline: the
// teardown stack, newest first (the HTTP API stops taking requests before
// the pipeline behind it, NATS last).
func (a *App) Stop(ctx context.Context) {
	for i := len(a.teardown) - 1; i >= 0; i-- {
		a.teardown[i](ctx)
	}
	a.teardown = nil
}

// ackPolicy is the acknowledgement policy of the configuration (validated:
// every severity and HAN type parses).
func ackPolicy(cfg *config.Config) acks.Policy {
	p := acks.Policy{Severities: severities(cfg.Acks.RequiredFor.Severity), Timeout: cfg.Acks.Timeout}
	for _, h := range cfg.Acks.RequiredFor.HANTypes {
		if t, err := cap.ParseHANType(h); err == nil {
			p.HANTypes = append(p.HANTypes, t)
		}
	}
	return p
}
