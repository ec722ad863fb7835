package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/alertlog"
	"github.com/herald-alerts/herald/broadcaster/app"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/config"
)

func newDemoCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Self-contained run: embedded NATS on a temporary data dir, a sample originator and alert; prints what each channel delivered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logOut := io.Discard
			if verbose {
				logOut = os.Stderr
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), slog.New(slog.NewTextHandler(logOut, nil)))
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show Herald's logs")
	return cmd
}

// demoRegion is King County, WA; the sample alert covers part of Seattle.
const demoRegion = "us-county-53033"

func runDemo(ctx context.Context, out io.Writer, logger *slog.Logger) error {
	dir, err := os.MkdirTemp("", "herald-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	seed, pub, err := signing.GenerateSeed()
	if err != nil {
		return err
	}
	kp, err := signing.ParseSeed(seed)
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.OriginatorsFile = filepath.Join(dir, "originators.yaml")
	originators := fmt.Sprintf(`originators:
  - id: wa-king-health
    name: "Demo officer, Public Health - Seattle & King County"
    public_key: %s
    roles: [issuer]
    jurisdiction:
      regions: [%s]
`, pub, demoRegion)
	if err := os.WriteFile(cfg.OriginatorsFile, []byte(originators), 0o600); err != nil {
		return err
	}

	fmt.Fprintf(out, "Herald demo: embedded NATS + JetStream in %s\n", dir)
	a, err := app.Start(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	fmt.Fprintf(out, "  HTTP API  %s\n  NATS      %s\n  regions   %d loaded\n\n", a.HTTPURL(), a.NATSURL(), a.Regions().Len())

	// A hospital follows its county's feed over plain NATS.
	hospital, err := nats.Connect(a.NATSURL(), nats.Name("demo-hospital"))
	if err != nil {
		return err
	}
	defer hospital.Close()
	feed := make(chan *nats.Msg, 16)
	sub, err := hospital.ChanSubscribe(alertlog.SubjectRegion+">", feed)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := hospital.Flush(); err != nil {
		return err
	}

	body, err := demoAlert(time.Now())
	if err != nil {
		return err
	}
	c := client.New(a.HTTPURL(), "")
	acc, _, err := c.Publish(ctx, kp, body)
	if err != nil {
		return fmt.Errorf("publish sample alert: %w", err)
	}
	fmt.Fprintf(out, "Published a signed boil-water advisory: alert %s (%s)\n\n", acc.ID, acc.State)

	fmt.Fprintln(out, "NATS regional feed (herald.alerts.region.<id>):")
	timeout := time.After(10 * time.Second)
	for got := 0; got == 0; {
		select {
		case m := <-feed:
			got++
			fmt.Fprintf(out, "  %s  alert %s  %s/%s/%s  %d bytes of CAP\n", m.Subject, m.Header.Get(alertlog.HeaderAlertID),
				m.Header.Get(alertlog.HeaderSeverity), m.Header.Get(alertlog.HeaderUrgency), m.Header.Get(alertlog.HeaderCertainty), len(m.Data))
		case <-timeout:
			return fmt.Errorf("no regional feed message within 10s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	st, _, err := c.Alert(ctx, acc.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nAlert state: %s; regions: %v\n", st.State, st.Regions)
	fmt.Fprintf(out, "CAP XML: %s/v1/alerts/%s.cap\n", a.HTTPURL(), acc.ID)
	return nil
}

// demoAlert is a boil-water advisory for part of Seattle, in English and
// Spanish, sent now.
func demoAlert(now time.Time) ([]byte, error) {
	sent := now.Format("2006-01-02T15:04:05-07:00")
	expires := now.Add(48 * time.Hour).Format("2006-01-02T15:04:05-07:00")
	area := cap.Area{
		AreaDesc: "Seattle: Beacon Hill and Georgetown",
		Polygon:  []string{"47.58,-122.33 47.58,-122.29 47.53,-122.29 47.53,-122.33 47.58,-122.33"},
	}
	info := func(lang, event, headline, instruction string) cap.Info {
		return cap.Info{
			Language: lang, Category: []string{"Health"}, Event: event, ResponseType: []string{"Prepare"},
			Urgency: "Immediate", Severity: "Severe", Certainty: "Observed", Expires: expires,
			SenderName: "Public Health - Seattle & King County", Headline: headline, Instruction: instruction,
			Area: []cap.Area{area},
		}
	}
	a := &cap.Alert{
		Identifier: "PHSKC-BW-" + now.UTC().Format("20060102T150405.000"),
		Sender:     "phskc@kingcounty.gov", Sent: sent, Status: "Actual", MsgType: "Alert", Scope: "Public",
		Info: []cap.Info{
			info("en-US", "Boil Water Advisory", "Boil water before drinking",
				"Bring tap water to a rolling boil for one minute before drinking or cooking. Bottled water is safe."),
			info("es-US", "Aviso de hervir el agua", "Hierva el agua antes de beberla",
				"Hierva el agua del grifo durante un minuto antes de beberla o cocinar. El agua embotellada es segura."),
		},
	}
	return cap.Marshal(a)
}
