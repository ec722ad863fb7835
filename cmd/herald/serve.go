package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/app"
)

func newServeCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run Herald: intake, planner, dispatchers and the HTTP API (SIGINT/SIGTERM drain and exit 0)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configFile, cmd.Flags())
			if err != nil {
				return err
			}
			// The limit is the process's: it is set where the process is
			// owned, not by app.Start (tests run several apps in one).
			limit, _ := cfg.MemoryLimitBytes() // Load checked it
			if limit > 0 {
				debug.SetMemoryLimit(limit)
			}
			a, err := app.Start(cmd.Context(), cfg, app.Options{})
			if err != nil {
				return err
			}
			if limit > 0 {
				a.Logger().Info("memory limit set", "memory_limit", cfg.MemoryLimit, "bytes", limit)
			}
			if cfg.HTTP.AdminToken == "" {
				a.Logger().Info("management API is off: set http.admin_token (HERALD_HTTP_ADMIN_TOKEN) to enable subscriber and webhook management")
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					_ = a.ReloadOriginators(cmd.Context())
					continue
				case err := <-a.Err():
					a.Stop(context.Background())
					return err
				case <-cmd.Context().Done():
				}
				break
			}
			a.Logger().Info("shutting down: draining in-flight work")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a.Stop(ctx)
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	config.BindFlags(cmd.Flags())
	return cmd
}
