package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/internal/audit"
)

func newAuditCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the audit trail (needs the admin token)"}
	f.bind(cmd)
	var since string
	list := &cobra.Command{
		Use:   "list [--since 24h|RFC3339]",
		Short: "List audit records: submissions, approvals, cancels and reloads",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := f.client().Get(cmd.Context(), "/v1/audit?since="+url.QueryEscape(since))
			if err != nil {
				return refused(cmd, &f, err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var res struct{ Records []audit.Record }
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			for _, r := range res.Records {
				var detail []string
				for k, v := range r.Detail {
					detail = append(detail, k+"="+v)
				}
				sort.Strings(detail)
				fmt.Fprintf(cmd.OutOrStdout(), "%d %s %-13s %-9s %-15s %s %s %s\n", r.Seq, r.Time.Format("2006-01-02T15:04:05Z"),
					r.Kind, r.Outcome, r.Actor, r.AlertID, r.Reason, strings.Join(detail, " "))
			}
			return nil
		},
	}
	list.Flags().StringVar(&since, "since", "", "only records from this time (RFC 3339) or this long ago (e.g. 24h)")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit trail's hash chain; exit 1 when it is broken",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := f.client().Get(cmd.Context(), "/v1/audit/verify")
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status == 409 {
				raw, err = ce.Raw, nil
			}
			if err != nil {
				return refused(cmd, &f, err)
			}
			var res struct {
				OK        bool   `json:"ok"`
				Verified  int    `json:"verified"`
				BrokenSeq uint64 `json:"broken_seq"`
				Reason    string `json:"reason"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("server answer: %w", err)
			}
			if f.json {
				_ = printJSON(cmd.OutOrStdout(), raw)
			} else if res.OK {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d records verified\n", res.Verified)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail BROKEN at record %d: %s (%d records before it verified)\n", res.BrokenSeq, res.Reason, res.Verified)
			}
			if !res.OK {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.AddCommand(list, verify)
	return cmd
}
