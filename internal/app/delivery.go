package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/channels/sms"
	"github.com/herald-alerts/herald/channels/social"
	"github.com/herald-alerts/herald/channels/social/bluesky"
	"github.com/herald-alerts/herald/channels/webhook"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/acks"
	"github.com/herald-alerts/herald/internal/compose"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/dispatch"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/ratelimit"
	"github.com/herald-alerts/herald/internal/render"
	"github.com/herald-alerts/herald/internal/residents"
	"github.com/herald-alerts/herald/internal/watchdog"
)

// concurrency is how many sends of a channel one Herald process has in
// flight; it also bounds the duplicates a crash can cause (see README).
var concurrency = map[channels.Channel]int{channels.SMS: 16, channels.Webhook: 32, channels.Social: 2}

// Concurrency is how many sends of ch one Herald process has in flight
// (what a load test's bare loops must match to compare with it).
func Concurrency(ch channels.Channel) int { return concurrency[ch] }

// residentKey reads the secret from which residents' ids (keyed hashes of
// their numbers) and the numbers' encryption at rest are derived, creating
// it on first start. Processes sharing a NATS cluster must share it: copy
// the file, keeping it mode 0600. Whoever reads it can read every
// resident's number, so a file that group or others may access stops
// start-up.
func residentKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "residents.key")
	key, err := os.ReadFile(path)
	if err == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", path, err)
		}
		// Windows has no such bits (Go reports 0666 for any writable file).
		if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
			return nil, fmt.Errorf("%s is open to group or others (mode %04o) and it guards residents' phone numbers: run chmod 600 %s", path, perm, path)
		}
		if len(key) < residents.MinKeyLen {
			return nil, fmt.Errorf("%s: key too short (%d bytes, want %d)", path, len(key), residents.MinKeyLen)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key = make([]byte, residents.MinKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate %s: %w", path, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dataDir, err)
	}
	// Written aside (CreateTemp makes it 0600) and linked into place, so a
	// process starting at the same moment finds no key or the whole key,
	// never a half-written one.
	tmp, err := os.CreateTemp(dataDir, ".residents.key-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, os.ErrExist) { // another process won the race
		return residentKey(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return key, nil
}

// notifiers builds the channel adapters the configuration asks for. The
// social channel is absent when no account is configured.
func notifiers(cfg *config.Config, logger *slog.Logger) (map[channels.Channel]channels.Notifier, error) {
	n := map[channels.Channel]channels.Notifier{}
	switch cfg.SMS.Provider {
	case "twilio":
		t, err := sms.New(sms.Config{
			AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken,
			From: cfg.Twilio.From, MessagingServiceSID: cfg.Twilio.MessagingServiceSID,
			BaseURL: cfg.Twilio.APIBaseURL, StatusCallback: cfg.HTTP.PublicURL + "/v1/sms/status",
		})
		if err != nil {
			return nil, err
		}
		n[channels.SMS] = t
	default:
		n[channels.SMS] = sms.NewLog(sms.LogConfig{Logger: logger})
	}
	n[channels.Webhook] = webhook.New(webhook.Config{AllowPrivate: cfg.Webhooks.AllowPrivateAddresses, Timeout: 10 * time.Second, UserAgent: "Herald"})
	accounts := social.Router{}
	if cfg.Social.Mastodon.Server != "" {
		m, err := social.New(social.Config{Server: cfg.Social.Mastodon.Server, AccessToken: cfg.Social.Mastodon.AccessToken})
		if err != nil {
			return nil, err
		}
		accounts[compose.Mastodon] = m
	}
	if b := cfg.Social.Bluesky; b.Server != "" {
		bs, err := bluesky.New(bluesky.Config{PDS: b.Server, Handle: b.Handle, AppPassword: b.AppPassword})
		if err != nil {
			return nil, err
		}
		accounts[compose.Bluesky] = bs
	}
	if len(accounts) > 0 {
		n[channels.Social] = accounts
	}
	return n, nil
}

// openDelivery opens the delivery stores and loads the resident index.
func (a *App) openDelivery(ctx context.Context, cfg *config.Config, replicas int) error {
	var err error
	if _, err = jobs.Open(ctx, jobs.Config{JS: a.js, Replicas: replicas}); err != nil {
		return err
	}
	if a.deliveries, err = deliveries.Open(ctx, deliveries.Config{JS: a.js, Replicas: replicas, Retention: cfg.Deliveries.Retention}); err != nil {
		return err
	}
	key, err := residentKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("residents key: %w", err)
	}
	// The index snapshot lets a restart skip reading every resident from
	// JetStream (see internal/residents/snapshot.go).
	if a.residents, err = residents.Open(ctx, residents.Config{JS: a.js, Replicas: replicas, Secret: key,
		Snapshot: filepath.Join(cfg.DataDir, "residents.snapshot"), Logger: a.logger}); err != nil {
		return err
	}
	allowPrivate := cfg.Webhooks.AllowPrivateAddresses
	if a.hospitals, err = hospitals.Open(ctx, hospitals.Config{JS: a.js, Replicas: replicas, Policy: hospitals.Policy{
		ValidateURL:    func(raw string) error { return webhook.ValidateURL(raw, allowPrivate) },
		KnownRegion:    func(id string) bool { _, ok := a.regions.Region(id); return ok },
		NewSecret:      webhook.NewSecret,
		NormalizePhone: func(raw string) (string, error) { return phone.Normalize(raw, phone.DefaultRegion) },
	}}); err != nil {
		return err
	}
	if a.acks, err = acks.Open(ctx, acks.Config{JS: a.js, Replicas: replicas, Timeout: cfg.Acks.Timeout, Metrics: a.metrics}); err != nil {
		return err
	}

	// The planner must see every resident before it plans: follow the
	// bucket into the point index; indexReady closes once the initial load
	// is done. Start does not wait for it: HTTP answers meanwhile (/readyz
	// says what is loading) and alerts are accepted into the log; planning
	// and previews wait.
	fctx, stopFollow := context.WithCancel(context.WithoutCancel(ctx))
	followDone := make(chan struct{})
	a.onStop(func(ctx context.Context) {
		stopFollow()
		// Follow writes its snapshot as it stops: wait for it (bounded by
		// the shutdown's deadline).
		select {
		case <-followDone:
		case <-ctx.Done():
		}
	})
	go func() {
		defer close(followDone)
		for fctx.Err() == nil {
			err := a.residents.Follow(fctx, a.index, func() {
				a.indexOnce.Do(func() {
					a.logger.Info("resident index loaded", "residents", a.index.Len())
					close(a.indexReady)
				})
			})
			if fctx.Err() == nil {
				a.logger.Warn("resident watch ended; restarting", "error", err)
				time.Sleep(time.Second)
			}
		}
	}()
	return nil
}

// startDispatch starts a dispatcher per configured channel.
func (a *App) startDispatch(ctx context.Context, cfg *config.Config, opt Options, replicas int) error {
	ns, err := notifiers(cfg, a.logger)
	if err != nil {
		return err
	}
	for ch, n := range opt.Notifiers {
		ns[ch] = n
	}
	// The SMS rate, in segments per second as carriers count them, holds
	// for the sender (number or Messaging Service) across all Herald
	// processes on this NATS together.
	smsLimit, err := ratelimit.Open(ctx, ratelimit.Config{JS: a.js, Replicas: replicas, Name: smsLimiterName(cfg), Rate: cfg.SMS.SegmentRate()})
	if err != nil {
		return err
	}
	costs := map[channels.Channel]func(channels.Message) int{
		channels.SMS: func(m channels.Message) int {
			if m.Segments > 0 {
				return m.Segments
			}
			n, _ := render.Segments(m.Text)
			return n
		},
	}
	var escalationSMS channels.Notifier
	if ns[channels.SMS] != nil {
		escalationSMS = rateLimited{Notifier: ns[channels.SMS], limit: smsLimit, cost: costs[channels.SMS]}
	}
	escalator := acks.NewEscalator(acks.EscalatorConfig{Store: a.acks, JS: a.js, Subscriptions: a.hospitals, Alerts: a.log,
		SMS: escalationSMS, PublicURL: cfg.HTTP.PublicURL, Logger: a.logger})
	if err := escalator.Start(ctx); err != nil {
		return err
	}
	a.onStop(func(context.Context) { escalator.Stop() })
	a.watched = append(a.watched, watchdog.Consumer{Stream: acks.TimerStream, Name: acks.ConsumerName, Restart: escalator.Restart})
	alerts := compose.NewAlerts(compose.AlertsConfig{Log: a.log, StateTTL: time.Second})
	links := compose.Links{PublicURL: cfg.HTTP.PublicURL}
	smsComposer := compose.NewSMS(compose.SMSConfig{Alerts: alerts, Residents: a.residents, Links: links,
		Segments: struct{ GSM7, UCS2 int }{cfg.SMS.MaxSegments.GSM7, cfg.SMS.MaxSegments.UCS2}})
	socialComposer := compose.NewSocial(compose.SocialConfig{Alerts: alerts, Regions: a.regions, Hashtags: cfg.Social.Hashtags, Languages: cfg.Social.Languages, Links: links, Posts: a.deliveries})
	composers := map[channels.Channel]dispatch.Composer{
		channels.SMS:     smsComposer,
		channels.Webhook: compose.NewWebhook(compose.WebhookConfig{Alerts: alerts, Subscriptions: a.hospitals, Acks: a.acks, AckBase: cfg.HTTP.PublicURL + "/v1/acks/"}),
		channels.Social:  socialComposer,
	}
	pc := compose.PreviewerConfig{SMS: smsComposer}
	if ns[channels.Social] != nil {
		pc.Social, pc.Accounts = socialComposer, a.socialAccounts
	}
	a.previewer = compose.NewPreviewer(pc)
	hooks := map[channels.Channel]dispatch.PermanentHook{
		channels.SMS: func(ctx context.Context, j jobs.Delivery, err error) error {
			if errors.Is(err, channels.ErrOptedOut) { // the carrier says the number sent STOP
				return a.residents.SetOptOut(ctx, j.Recipient, true)
			}
			return nil
		},
		channels.Webhook: func(ctx context.Context, j jobs.Delivery, err error) error {
			if errors.Is(err, channels.ErrGone) {
				return a.hospitals.Disable(ctx, j.Recipient, "endpoint answered 410 Gone")
			}
			return nil
		},
	}
	limiters := map[channels.Channel]dispatch.Limiter{channels.SMS: smsLimit}
	metrics := dispatch.NewMetrics(a.metrics)
	isolation := map[channels.Channel]dispatch.Isolation{
		channels.Webhook: {
			Destination: hostOf, MaxInFlight: cfg.Webhooks.MaxInFlight,
			Threshold: cfg.Webhooks.BreakerThreshold, Cooldown: cfg.Webhooks.BreakerCooldown, MaxCooldown: 10 * time.Minute,
		},
	}
	for _, ch := range channels.All {
		if ns[ch] == nil {
			continue
		}
		d := dispatch.New(dispatch.Config{
			JS: a.js, Channel: ch, Notifier: ns[ch], Composer: composers[ch], Alerts: alerts, Store: a.deliveries,
			Limiter: limiters[ch], Cost: costs[ch], Concurrency: concurrency[ch], SendTimeout: 15 * time.Second,
			Retry: retryPolicy(cfg, ch), OnPermanent: hooks[ch], Isolation: isolation[ch], Logger: a.logger.With("channel", ch), Metrics: metrics,
		})
		if err := d.Start(ctx); err != nil {
			return err
		}
		a.onStop(d.Stop)
		for _, lane := range jobs.Lanes {
			a.watched = append(a.watched, watchdog.Consumer{Stream: jobs.StreamName, Name: dispatch.ConsumerName(ch, lane), Restart: d.Restart})
		}
	}
	return nil
}

// rateLimited makes a Notifier wait for the shared SMS rate first: texts
// sent outside the dispatchers (acknowledgement escalations) count against
// the carrier's rate too. They wait for the rate, not behind a fan-out's
// queue.
type rateLimited struct {
	channels.Notifier
	limit dispatch.Limiter
	cost  func(channels.Message) int
}

func (r rateLimited) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if err := r.limit.WaitN(ctx, r.cost(m)); err != nil {
		return channels.Receipt{}, channels.Retryable("rate_limit", 0, fmt.Errorf("wait for the SMS rate: %w", err))
	}
	return r.Notifier.Send(ctx, m)
}

// smsLimiterName names the shared SMS limiter after the sender, so
// Herald deployments sending from different numbers or Messaging
// Services on one NATS keep their own carrier rates.
func smsLimiterName(cfg *config.Config) string {
	sender := cmp.Or(cfg.Twilio.MessagingServiceSID, cfg.Twilio.From)
	if cfg.SMS.Provider != "twilio" || sender == "" {
		return string(channels.SMS)
	}
	return string(channels.SMS) + "." + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, sender)
}

// retryPolicy is a channel's configured retry policy.
func retryPolicy(cfg *config.Config, channel channels.Channel) dispatch.Retry {
	r := map[channels.Channel]config.Retry{channels.SMS: cfg.Retry.SMS, channels.Webhook: cfg.Retry.Webhook, channels.Social: cfg.Retry.Social}[channel]
	return dispatch.Retry{Base: r.Base, Max: r.Max, MaxAttempts: r.MaxAttempts, MaxAge: r.MaxAge}
}

// hostOf is a webhook's destination for isolation: its host and port.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// socialAccounts are the social accounts the configuration (or a test's
// notifier) gives, in a fixed order.
func socialAccounts(cfg *config.Config, opt Options) []string {
	var out []string
	if cfg.Social.Mastodon.Server != "" {
		out = append(out, compose.Mastodon)
	}
	if cfg.Social.Bluesky.Server != "" {
		out = append(out, compose.Bluesky)
	}
	if opt.Notifiers[channels.Social] != nil {
		switch {
		case len(opt.SocialAccounts) > 0:
			out = opt.SocialAccounts
		case len(out) == 0:
			out = []string{compose.Mastodon}
		}
	}
	return out
}
