package main

import (
	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect Herald's configuration"}
	var configFile string
	print := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults < file < HERALD_* env < flags), secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configFile, cmd.Flags())
			if err != nil {
				return err
			}
			return cfg.Print(cmd.OutOrStdout())
		},
	}
	print.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	config.BindFlags(print.Flags())
	cmd.AddCommand(print)
	return cmd
}
