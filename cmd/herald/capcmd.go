package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func newCAPCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cap", Short: "Work with CAP 1.2 documents"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate CAP 1.2 files: one line per file, `FILE: ok` or `FILE: <element path>: <problem>`; exit 1 if any is invalid",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			out := cmd.OutOrStdout()
			bad := 0
			for _, f := range files {
				problems := validateFile(f)
				if len(problems) == 0 {
					fmt.Fprintf(out, "%s: ok\n", f)
					continue
				}
				bad++
				for _, p := range problems {
					fmt.Fprintf(out, "%s: %s\n", f, p)
				}
			}
			if bad > 0 {
				return exitError{1}
			}
			return nil
		},
	})
	return cmd
}

// validateFile returns every problem of one file as "path: message".
func validateFile(name string) []string {
	data, err := os.ReadFile(name)
	if err != nil {
		return []string{err.Error()}
	}
	_, problems, err := cap.Check(data)
	if err != nil {
		return []string{"alert: " + err.Error()}
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}
