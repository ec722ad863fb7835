package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/nats-io/nkeys"
	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
)

// clientFlags are shared by every command that talks to a Herald server.
type clientFlags struct {
	server string
	token  string
	json   bool
}

func (f *clientFlags) bind(cmd *cobra.Command) {
	server := os.Getenv("HERALD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&f.server, "server", server, "Herald server URL (env HERALD_SERVER)")
	cmd.PersistentFlags().StringVar(&f.token, "token", os.Getenv("HERALD_ADMIN_TOKEN"), "admin token for management endpoints (env HERALD_ADMIN_TOKEN)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print the API's JSON answer")
}

func (f *clientFlags) client() *client.Client {
	return client.New(client.Config{Server: f.server, Token: f.token})
}

// printJSON writes the server's JSON answer, indented.
func printJSON(w io.Writer, raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		_, err = w.Write(raw)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// refused prints a server refusal (as JSON with --json) and returns an exit
// error so the process ends non-zero without repeating it.
func refused(cmd *cobra.Command, f *clientFlags, err error) error {
	if ce, ok := err.(*client.Error); ok && f.json && len(ce.Raw) > 0 {
		_ = printJSON(cmd.OutOrStdout(), ce.Raw)
		return exitError{1}
	}
	return err
}

func readKey(path string) (nkeys.KeyPair, error) {
	if path == "" {
		return nil, fmt.Errorf("--key SEEDFILE is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	kp, err := signing.ParseSeed(b)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return kp, nil
}
