package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/config"
)

// startEmbedded runs an in-process nats-server with JetStream stored in
// dataDir/jetstream, with the accounts of AccountsConfig: Herald's own
// connection authenticates with svc, and feeders (one per hospital
// account) create the hospitals' feed streams. listen "" keeps it
// in-process only; a port of 0 picks a free one.
func startEmbedded(cfg *config.Config, svc nkeys.KeyPair, feeders map[string]nkeys.KeyPair, logger *slog.Logger) (*server.Server, error) {
	pub, err := svc.PublicKey()
	if err != nil {
		return nil, err
	}
	feederKeys := map[string]string{}
	for account, kp := range feeders {
		if feederKeys[account], err = kp.PublicKey(); err != nil {
			return nil, err
		}
	}
	opts := &server.Options{}
	if err := opts.ProcessConfigString(AccountsConfig(pub, cfg.NATS.Users, feederKeys)); err != nil {
		return nil, fmt.Errorf("embedded nats accounts: %w", err)
	}
	opts.ServerName = "herald"
	opts.JetStream = true
	opts.StoreDir = filepath.Join(cfg.DataDir, "jetstream")
	if err := moveGlobalStore(opts.StoreDir, logger); err != nil {
		return nil, err
	}
	opts.NoSigs = true // Herald handles signals itself
	if cfg.NATS.Listen == "" {
		opts.DontListen = true
	} else {
		host, portStr, err := net.SplitHostPort(cfg.NATS.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats.listen %q: %w", cfg.NATS.Listen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, fmt.Errorf("nats.listen %q: bad port", cfg.NATS.Listen)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	// The server's warnings and errors (a damaged stream file, a full
	// disk) go to Herald's log, not to nowhere.
	ns.SetLoggerV2(serverLogger{logger.With("component", "nats-server")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 30s (is %s in use, or %s not writable?)", cfg.NATS.Listen, opts.StoreDir)
	}
	return ns, nil
}

// connect opens Herald's connection: in-process to the embedded server, or
// to the configured external cluster with its credentials.
func connect(cfg *config.Config, ns *server.Server, svc nkeys.KeyPair, logger *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		// nats.go prints asynchronous errors to stderr unless told otherwise.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.Warn("nats", "subject", subject, "error", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("nats reconnected", "server", nc.ConnectedServerName()) }),
		nats.Name("herald"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
	// Herald's replies and JetStream requests use an inbox prefix of its
	// own: other members of its account (Herald processes) share nothing by
	// accident.
	opts = append(opts, nats.CustomInboxPrefix(inboxPrefix))
	if ns != nil {
		pub, err := svc.PublicKey()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(ns), nats.Nkey(pub, svc.Sign))
		nc, err := nats.Connect("", opts...)
		if err != nil {
			return nil, fmt.Errorf("connect embedded nats: %w", err)
		}
		return nc, nil
	}
	n := cfg.NATS
	if n.Creds != "" {
		opts = append(opts, nats.UserCredentials(n.Creds))
	}
	if n.User != "" {
		opts = append(opts, nats.UserInfo(n.User, n.Password))
	}
	if n.NkeySeedFile != "" {
		opt, err := nats.NkeyOptionFromSeed(n.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, opt)
	}
	nc, err := nats.Connect(n.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", redactURL(n.URL), err)
	}
	return nc, nil
}

// redactURL hides credentials in nats://user:pass@host URLs for messages.
func redactURL(list string) string {
	parts := strings.Split(list, ",")
	for k, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User("REDACTED")
			parts[k] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// startNATS starts the embedded server (unless nats.url names a cluster)
// and connects Herald to it.
func (a *App) startNATS(cfg *config.Config) error {
	// Herald's own key for the embedded server, new each start and never
	// written down.
	svc, err := nkeys.CreateUser()
	if err != nil {
		return err
	}
	if cfg.NATS.URL == "" {
		a.feeders = map[string]nkeys.KeyPair{}
		for _, u := range cfg.NATS.Users {
			if u.Role == "hospital" {
				if a.feeders[accountOf(u).Name], err = nkeys.CreateUser(); err != nil {
					return err
				}
			}
		}
		if a.ns, err = startEmbedded(cfg, svc, a.feeders, a.logger); err != nil {
			return err
		}
		a.onStop(func(context.Context) {
			a.ns.Shutdown()
			a.ns.WaitForShutdown()
		})
	}
	if a.nc, err = connect(cfg, a.ns, svc, a.logger); err != nil {
		return err
	}
	a.onStop(func(ctx context.Context) {
		_ = a.nc.Drain()
		for a.nc.IsDraining() {
			select {
			case <-ctx.Done():
				a.nc.Close()
			case <-time.After(20 * time.Millisecond):
			}
		}
		a.nc.Close()
	})
	if a.js, err = jetstream.New(a.nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// moveGlobalStore carries a store written before Herald had accounts (its
// streams in the global account, $G) over to account HERALD, where they
// now live: the directory is renamed once, before the server starts.
func moveGlobalStore(storeDir string, logger *slog.Logger) error {
	old := filepath.Join(storeDir, "jetstream", server.DEFAULT_GLOBAL_ACCOUNT)
	moved := filepath.Join(storeDir, "jetstream", HeraldAccount)
	if _, err := os.Stat(old); err != nil {
		return nil // nothing from before accounts
	}
	if _, err := os.Stat(moved); err == nil {
		return fmt.Errorf("data_dir has JetStream data in both %s and %s; move one aside", old, moved)
	}
	if err := os.Rename(old, moved); err != nil {
		return fmt.Errorf("move the store to account %s: %w", HeraldAccount, err)
	}
	logger.Warn("JetStream store moved from the global account to account "+HeraldAccount, "from", old, "to", moved)
	return nil
}

// serverLogger passes the embedded server's log to Herald's: warnings and
// errors as such, notices (start-up chatter) at debug level.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(format string, v ...any)  {}
