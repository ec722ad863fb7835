package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/spf13/cobra"
)

func newSubscriberCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "subscriber", Short: "Manage residents who receive SMS alerts (needs the admin token)"}
	f.bind(cmd)
	o := importOptions{chunk: 50_000}
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import residents from CSV (header phone,lat,lon,language,exercise); bad rows are reported by line and skipped",
		Long: `import sends the file in chunks of --chunk rows, each its own request, showing
progress on a terminal. Bad rows are reported by their line in the file and skipped.
If it stops (an error, Ctrl-C), the rows before the line it names are stored: run it
again with --from-line to go on. Importing a row twice updates the resident (keeping
its opt-out), so running the whole file again is safe too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.chunk < 1 {
				return errors.New("--chunk must be at least 1")
			}
			return importCSV(cmd.Context(), cmd, &f, args[0], o)
		},
	}
	imp.Flags().IntVar(&o.chunk, "chunk", o.chunk, "rows per request")
	imp.Flags().IntVar(&o.fromLine, "from-line", 0, "start at this line of the file (to go on after an interrupted import)")
	cmd.AddCommand(imp)
	return cmd
}

func newWebhookCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "webhook", Short: "Manage hospital webhook subscriptions (needs the admin token)"}
	f.bind(cmd)
	var (
		endpoint, minSeverity, name string
		regions, han, escalation    []string
		exercise                    bool
	)
	add := &cobra.Command{
		Use:   "add --url URL --regions ID,... [--min-severity S] [--han-types T,...] [--exercise]",
		Short: "Subscribe a hospital endpoint to regions; prints its id and signing secret (whsec_...)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := api.Webhook{URL: endpoint, Regions: regions, MinSeverity: minSeverity, Exercise: exercise, HANTypes: han, Name: name}
			for _, tier := range escalation {
				in.Escalation = append(in.Escalation, strings.Split(tier, ","))
			}
			raw, err := f.client().Send(cmd.Context(), http.MethodPost, "/v1/webhooks", in)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res struct{ ID, Secret string }
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id:     %s\nsecret: %s\n", res.ID, res.Secret)
			fmt.Fprintln(cmd.ErrOrStderr(), "Keep the secret: it verifies Herald's webhook-signature and is not shown again.")
			return nil
		},
	}
	add.Flags().StringVar(&endpoint, "url", "", "endpoint URL (https)")
	add.Flags().StringSliceVar(&regions, "regions", nil, "region ids, comma-separated (e.g. us-county-53033)")
	add.Flags().StringVar(&minSeverity, "min-severity", "", "least CAP severity delivered: Minor, Moderate, Severe or Extreme")
	add.Flags().BoolVar(&exercise, "exercise", false, "also receive Exercise and Test alerts")
	add.Flags().StringSliceVar(&han, "han-types", nil, `only alerts of these CDC HAN types, comma-separated ("Health Alert,Health Advisory,Health Update,Info Service"); default every alert`)
	add.Flags().StringVar(&name, "name", "", "the hospital's name, shown to officers")
	add.Flags().StringArrayVar(&escalation, "escalation", nil, "an escalation tier: phone numbers (E.164) texted, comma-separated, when an alert that requires acknowledgement goes unanswered; repeat for the next tiers")
	_ = add.MarkFlagRequired("url")
	_ = add.MarkFlagRequired("regions")
	cmd.AddCommand(add)

	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List webhook subscriptions (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := f.client().Get(cmd.Context(), "/v1/webhooks")
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var subs []api.WebhookInfo
			if err := json.Unmarshal(raw, &subs); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			for _, sub := range subs {
				printWebhook(cmd.OutOrStdout(), sub)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d subscriptions\n", len(subs))
			return nil
		},
	})
	for _, a := range []struct{ use, short, method, path string }{
		{"show ID", "Show one webhook subscription", http.MethodGet, ""},
		{"pause ID", "Stop deliveries to a subscription until resume (alerts published meanwhile leave it out; deliveries already queued for it are skipped)", http.MethodPost, "/pause"},
		{"resume ID", "Deliver to a paused or disabled subscription again", http.MethodPost, "/resume"},
	} {
		cmd.AddCommand(&cobra.Command{
			Use: a.use, Short: a.short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				raw, err := f.client().Send(cmd.Context(), a.method, "/v1/webhooks/"+url.PathEscape(args[0])+a.path, nil)
				if err != nil {
					return refused(cmd, &f, err)
				}
				if f.json {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				var sub api.WebhookInfo
				if err := json.Unmarshal(raw, &sub); err != nil {
					return fmt.Errorf("server answer: %w", err)
				}
				printWebhook(cmd.OutOrStdout(), sub)
				return nil
			},
		})
	}
	cmd.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Remove a webhook subscription", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := f.client().Send(cmd.Context(), http.MethodDelete, "/v1/webhooks/"+url.PathEscape(args[0]), nil); err != nil {
				return refused(cmd, &f, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate ID",
		Short: "Give a subscription a new signing secret; the old one keeps signing for webhooks.rotation_grace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := f.client().Send(cmd.Context(), http.MethodPost, "/v1/webhooks/"+url.PathEscape(args[0])+"/rotate", nil)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res api.WebhookRotated
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id:     %s\nsecret: %s\nold secret signs too until %s\n", res.ID, res.Secret, res.PreviousSecretUntil.Format(time.RFC3339))
			fmt.Fprintln(cmd.ErrOrStderr(), "Keep the secret: it is not shown again. Move the hospital's verifier to it before the old one stops.")
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "token ID",
		Short: "Give the hospital a token of its own: it manages this subscription and acknowledges alerts without the admin token (replaces an earlier token)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := f.client().Send(cmd.Context(), http.MethodPost, "/v1/webhooks/"+url.PathEscape(args[0])+"/token", nil)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res api.HospitalToken
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id:    %s\ntoken: %s\n", res.ID, res.Token)
			fmt.Fprintln(cmd.ErrOrStderr(), "Give the token to the hospital over a safe channel: it is not shown again.")
			return nil
		},
	})
	return cmd
}

func printWebhook(w io.Writer, sub api.WebhookInfo) {
	state := "active"
	if sub.Disabled {
		state = "disabled: " + sub.DisabledReason
	}
	fmt.Fprintf(w, "%s  %s  regions %s  min severity %s  HAN types %s  exercise %v  %s\n", sub.ID, sub.URL, strings.Join(sub.Regions, ","),
		cmp.Or(sub.MinSeverity, "any"), cmp.Or(strings.Join(sub.HANTypes, ","), "any"), sub.Exercise, state)
	if sub.Name != "" || len(sub.Escalation) > 0 || sub.HasToken {
		var tiers []string
		for _, t := range sub.Escalation {
			tiers = append(tiers, strings.Join(t, ","))
		}
		fmt.Fprintf(w, "    %s  escalation %s  own token %v\n", cmp.Or(sub.Name, "(no name)"), cmp.Or(strings.Join(tiers, " then "), "none"), sub.HasToken)
	}
	if sub.PreviousSecretUntil != nil {
		fmt.Fprintf(w, "    rotating: the previous secret signs too until %s\n", sub.PreviousSecretUntil.Format(time.RFC3339))
	}
}
