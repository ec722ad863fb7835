package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func newCAPCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cap", Short: "Work with CAP 1.2 documents"}
	var profile string
	validate := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate CAP 1.2 files: one line per file, `FILE: ok` or `FILE: <element path>: <problem>`; exit 1 if any is invalid",
		Long: `validate checks each file against the OASIS CAP 1.2 schema's rules and the rules
CAP adds, one line per problem with its element path. With --profile ipaws it
also reports, as "warning:" lines, what the IPAWS-OPEN profile asks that the
file lacks (the IPAWSv1.0 code, an English info, SAME codes, a WEA text within
90/360 characters, a WEA-eligible urgency, severity and certainty); warnings
do not change the exit status.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if profile != "" && profile != "ipaws" {
				return fmt.Errorf("--profile %q: the only profile is ipaws", profile)
			}
			out := cmd.OutOrStdout()
			bad := 0
			for _, f := range files {
				problems, warnings := validateFile(f, profile == "ipaws")
				for _, w := range warnings {
					fmt.Fprintf(out, "%s: warning: %s\n", f, w)
				}
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
	}
	validate.Flags().StringVar(&profile, "profile", "", "also check a profile's requirements, as warnings: ipaws")
	cmd.AddCommand(validate)
	return cmd
}

// validateFile returns every problem of one file, and with ipaws the
// profile's warnings, as "path: message".
func validateFile(name string, ipaws bool) (problems, warnings []string) {
	data, err := os.ReadFile(name)
	if err != nil {
		return []string{err.Error()}, nil
	}
	a, probs, err := cap.Check(data)
	if err != nil {
		return []string{"alert: " + err.Error()}, nil
	}
	for _, p := range probs {
		problems = append(problems, p.String())
	}
	if ipaws {
		for _, w := range a.IPAWSWarnings() {
			warnings = append(warnings, w.String())
		}
	}
	return problems, warnings
}
