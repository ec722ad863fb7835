package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Self-contained run: embedded NATS on a temporary data dir, sample officer, residents and hospital; publishes an alert and prints what each channel delivered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logOut := io.Discard
			if verbose {
				logOut = os.Stderr
			}
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), slog.New(slog.NewTextHandler(logOut, nil)))
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show Herald's logs")
	return cmd
}
