// Package inproc starts a whole Herald inside the calling process on the
// embedded default: a data dir (temporary unless given), free loopback
// ports for HTTP and NATS, an originators file written from the officers
// given, and a client with the admin token. The demo, the load tool and
// the end-to-end tests all start Herald through it, so they run the same
// set-up.
//
// It is not for production: `herald serve` reads a real configuration.
package inproc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/app"
)

// Officer is an originator with a fresh signing key.
type Officer struct {
	ID   string
	Name string
	// Agency groups approvers with the issuers they approve for; "" means
	// the officer's own id.
	Agency  string
	Roles   []string
	Regions []string // jurisdiction
	// Senders are the CAP senders of the officer's agency.
	Senders []string
	Key     nkeys.KeyPair
	Pub     string
}

// NewOfficer makes an officer with a new key.
func NewOfficer(id, name string, roles []string, regions ...string) (Officer, error) {
	seed, pub, err := signing.GenerateSeed()
	if err != nil {
		return Officer{}, err
	}
	kp, err := signing.ParseSeed(seed)
	if err != nil {
		return Officer{}, err
	}
	return Officer{ID: id, Name: name, Roles: roles, Regions: regions, Key: kp, Pub: pub}, nil
}

// Options are what a caller may set; zero values are sensible.
type Options struct {
	// DataDir is reused when set (restart tests); otherwise a temporary
	// one is made and removed by Stop.
	DataDir string
	// NATSURL points Herald at an external NATS instead of the embedded one.
	NATSURL string
	// Officers are written to the originators file.
	Officers []Officer
	// NATSUsers are the embedded server's accounts for hospitals and
	// originators.
	NATSUsers []config.NATSUser
	// Edit changes the configuration last, before Herald starts.
	Edit func(*config.Config)
	// Logger receives Herald's logs; nil discards them.
	Logger *slog.Logger
	// Regions shares an already loaded registry (loading 3,231 counties
	// takes a moment); nil loads the configured ones.
	Regions *geo.Registry
	// Notifiers replace the configured adapters per channel.
	Notifiers map[channels.Channel]channels.Notifier
	// SocialAccounts name the accounts a replaced social notifier posts
	// for (default: mastodon).
	SocialAccounts []string
}

// Herald is a running in-process Herald.
type Herald struct {
	*app.App
	Config *config.Config
	// Client talks to it with the admin token.
	Client *client.Client
	// Dir is its data dir.
	Dir     string
	tempDir bool
}

// Start starts Herald; Stop it when done.
func Start(ctx context.Context, o Options) (_ *Herald, err error) {
	h := &Herald{Dir: o.DataDir}
	if h.Dir == "" {
		if h.Dir, err = os.MkdirTemp("", "herald-"); err != nil {
			return nil, err
		}
		h.tempDir = true
	}
	defer func() {
		if err != nil && h.tempDir {
			os.RemoveAll(h.Dir)
		}
	}()
	cfg := config.Default()
	cfg.DataDir = h.Dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.PublicURL = "" // the listener's address, once known
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.NATS.URL = o.NATSURL
	cfg.NATS.Users = o.NATSUsers
	if cfg.HTTP.AdminToken, err = token(); err != nil {
		return nil, err
	}
	cfg.OriginatorsFile = filepath.Join(h.Dir, "originators.yaml")
	if err := os.WriteFile(cfg.OriginatorsFile, []byte(OriginatorsYAML(o.Officers)), 0o600); err != nil {
		return nil, err
	}
	if o.Edit != nil {
		o.Edit(cfg)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.Start(ctx, cfg, app.Options{Logger: logger, Regions: o.Regions, Notifiers: o.Notifiers, SocialAccounts: o.SocialAccounts})
	if err != nil {
		return nil, fmt.Errorf("start herald: %w", err)
	}
	// Callers (tests, the demo, the bench) expect residents stored before
	// to be in the index, as after a restart.
	if err := a.WaitIndex(ctx); err != nil {
		a.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	h.App, h.Config = a, cfg
	h.Client = client.New(client.Config{Server: a.HTTPURL(), Token: cfg.HTTP.AdminToken})
	return h, nil
}

// Stop stops Herald within ctx and removes a temporary data dir.
func (h *Herald) Stop(ctx context.Context) {
	h.App.Stop(ctx)
	if h.tempDir {
		os.RemoveAll(h.Dir)
	}
}

// OriginatorsYAML is the originators file listing officers.
func OriginatorsYAML(officers []Officer) string {
	var b strings.Builder
	b.WriteString("originators:\n")
	for _, o := range officers {
		fmt.Fprintf(&b, "  - id: %s\n    name: %q\n", o.ID, o.Name)
		if o.Agency != "" {
			fmt.Fprintf(&b, "    agency: %s\n", o.Agency)
		}
		fmt.Fprintf(&b, "    public_key: %s\n    roles: [%s]\n    jurisdiction: {regions: [%s]}\n",
			o.Pub, strings.Join(o.Roles, ", "), strings.Join(o.Regions, ", "))
		if len(o.Senders) > 0 {
			fmt.Fprintf(&b, "    senders: [%s]\n", strings.Join(o.Senders, ", "))
		}
	}
	return b.String()
}

func token() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "herald-" + hex.EncodeToString(b), nil
}
