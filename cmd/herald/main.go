// Command herald is Herald's single binary: the server (serve, demo) and
// the clients that talk to it (alert, subscriber, webhook, keys, cap,
// config). Commands are thin: they parse flags, set up a signal context and
// call into the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "herald:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "herald",
		Short:         "Herald broadcasts emergency health alerts (CAP 1.2) to residents, hospitals and social media",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newCheckCmd(), newDemoCmd(), newCAPCmd(), newKeysCmd(), newAlertCmd(), newSubscriberCmd(), newWebhookCmd(), newAuditCmd(), newConfigCmd(), newBenchCmd())
	return root
}
