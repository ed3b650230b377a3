package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

// parseWhen reads an RFC 3339 time, a date (UTC midnight), or a duration
// before now ("24h").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339, 2006-01-02, or a duration before now such as 24h", s)
}

func newUsageCmd() *cobra.Command {
	var cf clientFlags
	var from, to, by string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "usage [--from T] [--to T] [--by operation|day]",
		Short: "Print the caller's tenant's billed usage (the GetUsage RPC)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			req := &pb.GetUsageRequest{}
			if from != "" {
				t, err := parseWhen(from, now)
				if err != nil {
					return fmt.Errorf("--from %w", err)
				}
				req.From = timestamppb.New(t)
			}
			if to != "" {
				t, err := parseWhen(to, now)
				if err != nil {
					return fmt.Errorf("--to %w", err)
				}
				req.To = timestamppb.New(t)
			}
			switch strings.ToLower(by) {
			case "operation", "op", "":
				req.GroupBy = pb.UsageGroupBy_USAGE_GROUP_BY_OPERATION
			case "day":
				req.GroupBy = pb.UsageGroupBy_USAGE_GROUP_BY_DAY
			default:
				return fmt.Errorf("--by %q: want operation or day", by)
			}
			return cf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.GetUsage(ctx, req)
				if err != nil {
					return rpcErr("usage", err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(resp)
				}
				fmt.Fprintf(out, "tenant %s\n", resp.Tenant)
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, strings.ToUpper(strings.TrimPrefix(req.GroupBy.String(), "USAGE_GROUP_BY_"))+"\tRECORDS\tUNITS\tDCU\tCOST\t")
				for _, l := range resp.Lines {
					fmt.Fprintf(tw, "%s\t%d\t%.6f\t%.6f\t%.6f\t\n", l.Group, l.Records, l.Units, l.Dcu, l.Cost)
				}
				fmt.Fprintf(tw, "total\t\t\t%.6f\t%.6f\t\n", resp.TotalDcu, resp.TotalCost)
				return tw.Flush()
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "start, inclusive: RFC 3339, a date, or a duration before now (default: the beginning)")
	cmd.Flags().StringVar(&to, "to", "", "end, exclusive (default: now)")
	cmd.Flags().StringVar(&by, "by", "operation", "group by operation or day (UTC)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as JSON")
	return cmd
}

func newDedupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dedup", Short: "List and set the caller's tenant's deduplication policies"}
	var lf clientFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the deduplication policies that apply to the caller's tenant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.ListDedupPolicies(ctx, &pb.ListDedupPoliciesRequest{})
				if err != nil {
					return rpcErr("list dedup policies", err)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTHRESHOLD\tACTIVE\tSCOPE\tIN FORCE")
				for _, p := range resp.Policies {
					scope, force := "tenant", ""
					if p.Shared {
						scope = "every tenant"
					}
					if p.Name == resp.Effective && p.Active {
						force = "yes"
					}
					fmt.Fprintf(tw, "%s\t%g\t%v\t%s\t%s\n", p.Name, p.Threshold, p.Active, scope, force)
				}
				return tw.Flush()
			})
		},
	}
	lf.register(list)
	var sf clientFlags
	var name string
	var threshold float64
	var inactive bool
	set := &cobra.Command{
		Use:   "set --name N --threshold T [--inactive]",
		Short: "Create or update a policy of the caller's tenant; an active one is the tenant's only active policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.SetDedupPolicy(ctx, &pb.SetDedupPolicyRequest{Name: name, Threshold: threshold, Active: !inactive})
				if err != nil {
					return rpcErr("set dedup policy", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "policy %s: threshold %g, active %v\n", resp.Policy.Name, resp.Policy.Threshold, resp.Policy.Active)
				return nil
			})
		},
	}
	sf.register(set)
	set.Flags().StringVar(&name, "name", "", "policy name (required)")
	set.Flags().Float64Var(&threshold, "threshold", 0.95, "cosine similarity at or above which an item is a duplicate, in (0, 1]")
	set.Flags().BoolVar(&inactive, "inactive", false, "store the policy inactive")
	_ = set.MarkFlagRequired("name")
	cmd.AddCommand(list, set)
	return cmd
}
