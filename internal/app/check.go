package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/audit"
)

// checkAudit refuses an audit trail that lost records or whose hash chain
// is broken.
func (a *App) checkAudit(ctx context.Context) error {
	if err := a.audit.Intact(ctx); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	// No deadline of its own: a long trail takes longer to read, and a
	// verification cut short would refuse a sound trail.
	if _, err := a.audit.Verify(ctx); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}

// Check verifies the alert log, the state records and the audit chain of
// cfg's store (the embedded data_dir, or the external cluster) and writes
// what it finds to out, one line each. ok is false when anything is wrong;
// err is for a check that could not run. On the embedded store it takes
// the data_dir's lock: stop Herald first.
func Check(ctx context.Context, cfg *config.Config, out io.Writer) (ok bool, err error) {
	a := &App{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	defer a.Stop(context.Background())
	if cfg.NATS.URL == "" {
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			if errors.Is(err, ErrDataDirLocked) {
				return false, fmt.Errorf("%w; stop that Herald before checking", err)
			}
			return false, err
		}
		a.onStop(func(context.Context) { unlock() })
		c := *cfg
		c.NATS.Listen = "" // in-process only
		a.cfg = &c
	}
	if err := a.startNATS(a.cfg); err != nil {
		return false, err
	}
	replicas := cfg.NATS.Replicas
	if replicas < 1 || a.ns != nil {
		replicas = 1
	}
	ok = true
	report := func(what string, problems []string) {
		if len(problems) == 0 {
			fmt.Fprintf(out, "ok    %s\n", what)
			return
		}
		ok = false
		for _, p := range problems {
			fmt.Fprintf(out, "FAIL  %s: %s\n", what, p)
		}
	}
	if _, err := a.js.Stream(ctx, alertlog.StreamName); errors.Is(err, jetstream.ErrStreamNotFound) {
		fmt.Fprintf(out, "ok    no alert log yet (%s)\n", alertlog.StreamName)
	} else {
		log, err := alertlog.Open(ctx, alertlog.Config{JS: a.js, Replicas: replicas})
		if err != nil {
			return false, err
		}
		problems, err := log.Check(ctx)
		if err != nil {
			return false, err
		}
		report("alert log "+alertlog.StreamName+" and state "+alertlog.StateBucket, problems)
	}
	if _, err := a.js.Stream(ctx, audit.StreamName); errors.Is(err, jetstream.ErrStreamNotFound) {
		fmt.Fprintf(out, "ok    no audit trail yet (%s)\n", audit.StreamName)
	} else {
		trail, err := audit.Open(ctx, audit.Config{JS: a.js, Replicas: replicas})
		if err != nil {
			return false, err
		}
		a.audit = trail
		var problems []string
		if err := a.checkAudit(ctx); err != nil {
			problems = append(problems, err.Error())
		}
		report("audit trail "+audit.StreamName, problems)
	}
	return ok, nil
}
