package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/signing"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Originator signing keys"}
	var out string
	gen := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Write a new originator seed to FILE (mode 0600) and print its public key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			seed, pub, err := signing.GenerateSeed()
			if err != nil {
				return err
			}
			// O_EXCL: never overwrite an existing key by accident.
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("write seed: %w", err)
			}
			if _, err := f.Write(append(seed, '\n')); err != nil {
				f.Close()
				return fmt.Errorf("write seed %s: %w", out, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write seed %s: %w", out, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), pub)
			return nil
		},
	}
	gen.Flags().StringVar(&out, "out", "", "file to write the seed to (must not exist)")
	cmd.AddCommand(gen)
	return cmd
}
