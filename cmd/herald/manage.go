package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
