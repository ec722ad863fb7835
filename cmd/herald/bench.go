package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/loadtest"
)

func newBenchCmd() *cobra.Command {
	o := loadtest.Full()
	var (
		quick, verbose bool
		timeout        time.Duration
		memoryLimit    string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load test: the real pipeline on the embedded default against local sinks (planning rate, SMS and webhook throughput, publish-to-first-delivery latency)",
		Long: `bench runs Herald in-process on a temporary data dir and free loopback ports
(embedded NATS, like the demo), with SMS going through the real Twilio adapter
to a local fake Twilio that answers 201 at once, and webhooks through the real
webhook adapter to a local receiver; sms.rate_per_second is 1e9. It prints:

  import     residents imported through POST /v1/subscribers/import (CSV chunks)
  planning   one alert over all residents (SAME 053033, King County): time from the
             202 until every job is in HERALD_JOBS and the plan recorded (sends held)
  sms        Twilio API calls per second to the fake (for at most --duration)
  sms floor  the NATS work of one SMS done bare with the SMS dispatcher's
             concurrency (resident read, record put, counter increment); the
             SMS rate as a share of it
  latency    --alerts alerts one at a time, each to one resident: first SMS
             accepted by the fake minus the 202, p50/p99
  webhooks   --webhooks subscriptions x --webhook-alerts Restricted alerts through
             Herald, and the same number of posts from a bare net/http loop with
             the dispatcher's concurrency to the same receiver; their ratio

and the memory after each phase and the peak RSS of the whole run, each beside
its target (issues 6 and 17): 1M recipients planned in <= 1.5 s, 1M imported in
<= 15 s, p50 <= 5 ms, p99 <= 25 ms, >= 2,000 SMS API calls/s, SMS at >= 0.7 of
their NATS floor (issue 18), webhooks >= 80% of the bare loop, peak RSS with 1M
residents < 1 GB.

--memory-limit runs it under a memory limit, as herald serve's memory_limit
does (the whole process: Herald, the NATS server and the fakes).

With --scale it runs instead: floors (a bare KV put loop and JetStream publish
loop on the same server), import, restart (stop, start on the same data dir,
time until ready with the index rebuilt), a county preview, and planning.
Everything runs on loopback and stops by itself (--timeout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if quick {
				q := loadtest.Quick()
				for name, v := range map[string]func(){
					"residents":      func() { o.Residents = q.Residents },
					"alerts":         func() { o.Alerts = q.Alerts },
					"webhooks":       func() { o.Webhooks = q.Webhooks },
					"webhook-alerts": func() { o.WebhookAlerts = q.WebhookAlerts },
					"duration":       func() { o.Duration = q.Duration },
					"timeout":        func() { timeout = 2 * time.Minute },
				} {
					if !cmd.Flags().Changed(name) {
						v()
					}
				}
			}
			if timeout <= 0 {
				return errors.New("--timeout must be positive")
			}
			limit, err := config.ParseMemoryLimit(memoryLimit)
			if err != nil {
				return fmt.Errorf("--memory-limit: %w", err)
			}
			if limit > 0 {
				// As herald serve applies memory_limit: to the whole
				// process (Herald, the NATS server, the bench's fakes).
				debug.SetMemoryLimit(limit)
				fmt.Fprintf(cmd.OutOrStdout(), "Memory limit %s (as memory_limit) on the whole process\n", memoryLimit)
			}
			logOut := io.Discard
			if verbose {
				logOut = cmd.ErrOrStderr()
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return loadtest.Run(ctx, cmd.OutOrStdout(), o, slog.New(slog.NewTextHandler(logOut, nil)))
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Residents, "residents", o.Residents, "residents to import and plan one alert for")
	f.IntVar(&o.Alerts, "alerts", o.Alerts, "alerts published one at a time for the latency percentiles")
	f.IntVar(&o.Webhooks, "webhooks", o.Webhooks, "webhook subscriptions (distinct paths on one local receiver)")
	f.IntVar(&o.WebhookAlerts, "webhook-alerts", o.WebhookAlerts, "Restricted alerts for the webhook throughput (deliveries = webhooks x this)")
	f.DurationVar(&o.Duration, "duration", o.Duration, "longest a throughput measurement (SMS, webhooks, bare loop) runs")
	f.DurationVar(&timeout, "timeout", 20*time.Minute, "the whole run stops with an error after this")
	f.IntVar(&o.Chunk, "chunk", o.Chunk, "rows per CSV import request")
	f.BoolVar(&o.OneHost, "one-host", false, "put every webhook subscription on one host:port (Herald then posts at most webhooks.max_in_flight at a time)")
	f.StringVar(&memoryLimit, "memory-limit", "", "run under this memory limit, as herald serve's memory_limit (e.g. 950MiB)")
	f.BoolVar(&quick, "quick", false, "small run (20k residents, 50 latency samples, 50 x 20 webhooks, 4 s windows)")
	f.BoolVarP(&verbose, "verbose", "v", false, "show Herald's logs")
	f.BoolVar(&o.Scale, "scale", false, "scale run instead: floors (bare KV put and JetStream publish loops), import, restart to ready, county preview, planning; memory after each (e.g. --scale --residents 10000000)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the run (or of --profile-phase) to this file")
	f.StringVar(&o.ProfilePhase, "profile-phase", "", "profile only this phase: import, planning, sms, sms-floor, latency, webhooks (scale: floors, import, restart, preview, planning)")
	f.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile after --profile-phase (or at the end) to this file")
	_ = f.MarkHidden("memprofile")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("profile-phase")
	return cmd
}
