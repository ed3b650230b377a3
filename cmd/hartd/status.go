package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

func newStatusCmd() *cobra.Command {
	var cf clientFlags
	var model string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--model N] [--json]",
		Short: "Show the server's health and each model's state",
		Long: `Show whether the server serves (grpc.health.v1) and, per model, its count,
anchors, the range of its projected points and its index. Exits non-zero
when the server is not serving (loading or shutting down).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := cf.conn()
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := cf.call(cmd.Context())
			defer cancel()
			out := cmd.OutOrStdout()

			h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return rpcErr("health", err)
			}
			serving := h.GetStatus() == healthpb.HealthCheckResponse_SERVING
			var resp *pb.StatsResponse
			if serving {
				resp, err = pb.NewHartonomousServiceClient(conn).Stats(ctx, &pb.StatsRequest{Model: model})
				if status.Code(err) == codes.Unavailable {
					serving = false // stopping since the health check
				} else if err != nil {
					return rpcErr("stats", err)
				}
			}
			if asJSON {
				err = printStatusJSON(out, cf.addr, h.GetStatus(), resp)
			} else {
				err = printStatus(out, cf.addr, h.GetStatus(), resp)
			}
			if err != nil {
				return err
			}
			if !serving {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "only this model")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (the StatsResponse's fields as in the proto, and the health)")
	return cmd
}

func printStatusJSON(w io.Writer, addr string, health healthpb.HealthCheckResponse_ServingStatus, resp *pb.StatsResponse) error {
	models := json.RawMessage("[]")
	if resp != nil {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(resp)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		var fields struct {
			Models json.RawMessage `json:"models"`
		}
		if err := json.Unmarshal(b, &fields); err != nil {
			return fmt.Errorf("status: %w", err)
		}
		if fields.Models != nil {
			models = fields.Models
		}
	}
	return json.NewEncoder(w).Encode(struct {
		Addr   string          `json:"addr"`
		Health string          `json:"health"`
		Models json.RawMessage `json:"models"`
	}{addr, health.String(), models})
}

func printStatus(w io.Writer, addr string, health healthpb.HealthCheckResponse_ServingStatus, resp *pb.StatsResponse) error {
	var b strings.Builder
	fmt.Fprintf(&b, "server %s: %s\n", addr, health)
	if resp == nil {
		if health != healthpb.HealthCheckResponse_SERVING {
			b.WriteString("(loading its runtime core, or shutting down)\n")
		}
	} else if len(resp.Models) == 0 {
		b.WriteString("no models\n")
	}
	for _, m := range resp.GetModels() {
		fmt.Fprintf(&b, "\nmodel %s: %d-d %s, %d vectors\n", m.Name, m.Dimension, metricName(m.Metric), m.Count)
		proj := "pending (anchors are chosen once the model holds three distinct vectors)"
		if m.ProjectionReady {
			proj = "ready"
		}
		if a := m.Anchors; a != nil {
			ids := make([]string, len(a.EmbeddingIds))
			for i, id := range a.EmbeddingIds {
				ids[i] = fmt.Sprint(id)
			}
			proj += fmt.Sprintf("; anchors %s chosen %s", strings.Join(ids, ", "), a.ChosenTime.AsTime().UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "  projection: %s\n", proj)
		if r := m.ProjectionBounds; r != nil {
			fmt.Fprintf(&b, "  range:      x [%.4g, %.4g]  y [%.4g, %.4g]  z [%.4g, %.4g]\n",
				r.Min.GetX(), r.Max.GetX(), r.Min.GetY(), r.Max.GetY(), r.Min.GetZ(), r.Max.GetZ())
		}
		if ix := m.Index; ix != nil {
			fmt.Fprintf(&b, "  rows:       %d, %d live, %d tombstones\n", ix.Rows, ix.LiveRows, ix.Tombstones)
			if ix.IndexBuilt {
				fmt.Fprintf(&b, "  index:      %d partitions over %d rows, %d in the exact tail; trained on %d rows %s; %.1f MiB\n",
					ix.Partitions, ix.IndexedRows, ix.TailRows, ix.TrainedOnRows,
					ix.BuiltTime.AsTime().UTC().Format(time.RFC3339), float64(ix.IndexBytes)/(1<<20))
			} else {
				b.WriteString("  index:      not built (searches are exact until the model holds 10,000 live rows)\n")
			}
		}
		if len(m.Decisions) == 0 {
			b.WriteString("  decisions:  none\n")
		}
		for i, d := range m.Decisions {
			label := "  decisions: "
			if i > 0 {
				label = "             "
			}
			fmt.Fprintf(&b, "%s %s %s: %s\n", label, d.Time.AsTime().UTC().Format(time.RFC3339), d.Action, d.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// conn is dial's connection itself, for a command that calls more than one
// service (status also asks grpc.health.v1). Keep its options those of dial.
func (c *clientFlags) conn() (*grpc.ClientConn, error) {
	opts, err := c.dialOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(c.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.addr, err)
	}
	return conn, nil
}
