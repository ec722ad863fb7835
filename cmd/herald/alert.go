package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

func newAlertCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "alert", Short: "Publish, preview, follow and cancel alerts on a Herald server"}
	f.bind(cmd)
	var key string
	keyFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&key, "key", "", "originator seed file (from `herald keys generate`)")
	}

	publish := &cobra.Command{
		Use:   "publish FILE --key SEEDFILE",
		Short: "Sign and submit a CAP 1.2 XML alert; prints the alert id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kp, body, err := readKeyAndFile(key, args[0])
			if err != nil {
				return err
			}
			acc, raw, err := f.client().Publish(cmd.Context(), kp, body)
			return printAccepted(cmd, &f, acc.ID, raw, err)
		},
	}
	keyFlag(publish)

	preview := &cobra.Command{
		Use:   "preview FILE --key SEEDFILE",
		Short: "Show the regions an alert would reach and its recipients per channel, sending nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kp, body, err := readKeyAndFile(key, args[0])
			if err != nil {
				return err
			}
			p, raw, err := f.client().Preview(cmd.Context(), kp, body)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "area: %.1f km²\nregions (%d):\n", p.AreaKm2, len(p.Regions))
			for _, r := range p.Regions {
				fmt.Fprintf(out, "  %s  %s\n", r.ID, r.Name)
			}
			var counts []string
			for _, ch := range channels.All {
				counts = append(counts, fmt.Sprintf("%s %d", ch, p.Recipients[string(ch)]))
			}
			fmt.Fprintf(out, "recipients: %s\n", strings.Join(counts, ", "))
			if p.SMSSeconds > 0 {
				fmt.Fprintf(out, "sms fan-out: about %s at the configured carrier rate\n", time.Duration(p.SMSSeconds*float64(time.Second)).Round(time.Second).String())
			}
			// The words themselves: what each channel sends each language.
			for _, tx := range p.Texts {
				cost := fmt.Sprintf("%d segment(s), %s", tx.Segments, tx.Encoding)
				if tx.Limit > 0 {
					cost = fmt.Sprintf("%d of %d characters", tx.Characters, tx.Limit)
				}
				if len(tx.Cut) > 0 {
					cost += "; cut: " + strings.Join(tx.Cut, ", ")
				}
				fmt.Fprintf(out, "\n%s, %s (%s):\n  %s\n", tx.Channel, cmp.Or(tx.Language, "any language"), cost, strings.ReplaceAll(tx.Text, "\n", "\n  "))
			}
			return nil
		},
	}
	keyFlag(preview)

	var watch bool
	status := &cobra.Command{
		Use:   "status ID [--watch]",
		Short: "Show an alert's state and deliveries per channel; --watch follows progress until done",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := f.client()
			out := cmd.OutOrStdout()
			for {
				a, raw, err := c.Alert(cmd.Context(), args[0])
				if err != nil {
					return refused(cmd, &f, err)
				}
				// Deliveries need the admin token; without it the state alone is shown.
				draw, derr := c.Get(cmd.Context(), "/v1/alerts/"+url.PathEscape(args[0])+"/deliveries")
				var sum api.Deliveries
				haveDeliveries := derr == nil && json.Unmarshal(draw, &sum) == nil
				if f.json {
					if haveDeliveries {
						raw, _ = json.Marshal(map[string]json.RawMessage{"alert": raw, "deliveries": draw})
					}
					if err := printJSON(out, raw); err != nil {
						return err
					}
				} else {
					printStatus(out, a, sum, haveDeliveries)
				}
				done := finished(a.State) && (!haveDeliveries || sum.Done)
				if !watch || done {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	status.Flags().BoolVar(&watch, "watch", false, "follow progress until the alert is done")

	cancel := &cobra.Command{
		Use:   "cancel ID --key SEEDFILE",
		Short: "Issue a CAP Cancel referencing the alert; prints the Cancel's alert id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kp, err := readKey(key)
			if err != nil {
				return err
			}
			c := f.client()
			orig, err := c.CAP(cmd.Context(), args[0])
			if err != nil {
				return refused(cmd, &f, err)
			}
			a, err := cap.Parse(orig)
			if err != nil {
				return fmt.Errorf("original alert: %w", err)
			}
			body, err := cap.Marshal(cap.CancelOf(a, time.Now()))
			if err != nil {
				return err
			}
			acc, raw, err := c.Publish(cmd.Context(), kp, body)
			return printAccepted(cmd, &f, acc.ID, raw, err)
		},
	}
	keyFlag(cancel)

	approve := &cobra.Command{
		Use:   "approve ID --key SEEDFILE",
		Short: "Approve an alert held for approval, as a second officer with the approver role",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kp, err := readKey(key)
			if err != nil {
				return err
			}
			acc, raw, err := f.client().Approve(cmd.Context(), kp, args[0])
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", acc.ID, acc.State)
			return nil
		},
	}
	keyFlag(approve)

	var reason string
	reject := &cobra.Command{
		Use:   "reject ID --key SEEDFILE --reason TEXT",
		Short: "Reject an alert held for approval, as a second officer with the approver role; the issuer reads the reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required: say why the alert is rejected")
			}
			kp, err := readKey(key)
			if err != nil {
				return err
			}
			acc, raw, err := f.client().Reject(cmd.Context(), kp, args[0], reason)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", acc.ID, acc.State)
			return nil
		},
	}
	keyFlag(reject)
	reject.Flags().StringVar(&reason, "reason", "", "why the alert is rejected (required)")

	var listState string
	var listLimit int
	list := &cobra.Command{
		Use:   "list [--state S]",
		Short: "List alerts, newest first (all with the admin token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, raw, err := f.client().List(cmd.Context(), listState, listLimit)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSTATE\tSENT\tTYPE\tSEVERITY\tORIGINATOR\tHEADLINE")
			for _, a := range l.Alerts {
				kind := a.MsgType
				if a.Status != string(cap.StatusActual) {
					kind += " (" + a.Status + ")"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Sent, kind, a.Severity, a.Originator, a.Headline)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if l.More {
				fmt.Fprintf(cmd.OutOrStdout(), "(more alerts than --limit %d; raise it or filter by --state)\n", max(listLimit, 50))
			}
			return nil
		},
	}
	list.Flags().StringVar(&listState, "state", "", "only alerts in these states (comma-separated): pending_approval, accepted, dispatching, done, cancelled, expired, rejected")
	list.Flags().IntVar(&listLimit, "limit", 0, "at most this many alerts (server default 50, at most 1000)")

	acksCmd := &cobra.Command{
		Use:   "acks ID",
		Short: "Show which hospitals acknowledged an alert: delivered, acknowledged (when, by whom, how), escalated, not reached",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := f.client().Get(cmd.Context(), "/v1/alerts/"+url.PathEscape(args[0])+"/acks")
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res api.Acks
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			out := cmd.OutOrStdout()
			if !res.Required {
				fmt.Fprintf(out, "alert %s asks no hospital to acknowledge\n", res.AlertID)
				return nil
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOSPITAL\tSUBSCRIPTION\tWEBHOOK\tSTATE\tTIER\tACKNOWLEDGED\tBY\tPATH")
			for _, h := range res.Hospitals {
				when := ""
				if h.AcknowledgedAt != nil {
					when = h.AcknowledgedAt.Local().Format("15:04:05")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", h.Hospital, h.Subscription, h.Webhook, h.State, h.Tier, when, h.AcknowledgedBy, h.Path)
				for _, st := range h.Escalations {
					fmt.Fprintf(w, "\t  escalated to tier %d at %s: %d of %d texted %s\t\t\t\t\t\t\n", st.Tier, st.At.Local().Format("15:04:05"), st.Sent, st.Contacts, st.Error)
				}
			}
			return w.Flush()
		},
	}

	cmd.AddCommand(publish, preview, status, cancel, approve, reject, list, acksCmd)
	return cmd
}

func printStatus(out io.Writer, a client.Alert, sum api.Deliveries, haveDeliveries bool) {
	fmt.Fprintf(out, "%s  alert %s: %s  (%s %s, %s)  regions: %s\n", time.Now().Format("15:04:05"), a.ID, a.State, a.Status, a.MsgType, a.Severity, strings.Join(a.Regions, ","))
	if !haveDeliveries {
		return
	}
	for _, ch := range channels.All {
		n := sum.Channels[string(ch)]
		fmt.Fprintf(out, "  %-8s queued %d, sent %d, logged %d, delivered %d, failed %d, skipped %d\n", ch, n.Queued, n.Sent, n.Logged, n.Delivered, n.Failed, n.Skipped)
	}
	if sum.SMSSeconds > 0 {
		fmt.Fprintf(out, "  sms queued: about %s at the configured carrier rate\n", time.Duration(sum.SMSSeconds*float64(time.Second)).Round(time.Second).String())
	}
	for _, fl := range sum.Failures {
		fmt.Fprintf(out, "  %s %s %s: %s\n", fl.Channel, fl.State, fl.Recipient, fl.Reason)
	}
}

// readKeyAndFile reads an originator seed and the document to sign.
func readKeyAndFile(keyPath, file string) (nkeys.KeyPair, []byte, error) {
	kp, err := readKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	return kp, body, nil
}

// printAccepted prints the id of an accepted submission (the JSON answer
// with --json), or the server's refusal.
func printAccepted(cmd *cobra.Command, f *clientFlags, id string, raw []byte, err error) error {
	if err != nil {
		return refused(cmd, f, err)
	}
	if f.json {
		return printJSON(cmd.OutOrStdout(), raw)
	}
	fmt.Fprintln(cmd.OutOrStdout(), id)
	return nil
}

func finished(state string) bool { return lifecycle.State(state).Ended() }
