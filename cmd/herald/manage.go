package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
)

func newSubscriberCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "subscriber", Short: "Manage residents who receive SMS alerts (needs the admin token)"}
	f.bind(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import residents from CSV (header phone,lat,lon,language,exercise); bad rows are reported by line and skipped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			raw, err := f.client().Upload(cmd.Context(), "/v1/subscribers/import", "text/csv", body)
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res struct {
				Imported int `json:"imported"`
				Rejected []struct {
					Line    int    `json:"line"`
					Message string `json:"message"`
				} `json:"rejected"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			for _, r := range res.Rejected {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s:%d: %s\n", args[0], r.Line, r.Message)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d residents, skipped %d rows\n", res.Imported, len(res.Rejected))
			return nil
		},
	})
	return cmd
}

func newWebhookCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "webhook", Short: "Manage hospital webhook subscriptions (needs the admin token)"}
	f.bind(cmd)
	var (
		url, minSeverity string
		regions          []string
		exercise         bool
	)
	add := &cobra.Command{
		Use:   "add --url URL --regions ID,... [--min-severity S] [--exercise]",
		Short: "Subscribe a hospital endpoint to regions; prints its id and signing secret (whsec_...)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := map[string]any{"url": url, "regions": regions, "min_severity": minSeverity, "exercise": exercise}
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
	add.Flags().StringVar(&url, "url", "", "endpoint URL (https)")
	add.Flags().StringSliceVar(&regions, "regions", nil, "region ids, comma-separated (e.g. us-county-53033)")
	add.Flags().StringVar(&minSeverity, "min-severity", "", "least CAP severity delivered: Minor, Moderate, Severe or Extreme")
	add.Flags().BoolVar(&exercise, "exercise", false, "also receive Exercise and Test alerts")
	_ = add.MarkFlagRequired("url")
	_ = add.MarkFlagRequired("regions")
	cmd.AddCommand(add)
	return cmd
}
