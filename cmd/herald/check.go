package main

import (
	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/app"
)

func newCheckCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify a data_dir (or the external cluster): alert log, state records and audit chain; exit 1 when anything is wrong",
		Long: `check reads the alert log, the alert state records and the audit trail
and reports, one line each, what is missing or inconsistent: messages lost
from a damaged file, state records without their alert, alerts that do not
parse, a broken audit hash chain. On the embedded store it takes the
data_dir's lock, so stop Herald first. Exit 0: all good; 1: problems found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configFile, cmd.Flags())
			if err != nil {
				return err
			}
			ok, err := app.Check(cmd.Context(), cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if !ok {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	config.BindFlags(cmd.Flags())
	return cmd
}
