package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/tlsx"
	"github.com/hartonomous/hartd/internal/vecfile"
)

// clientFlags are shared by every client command.
type clientFlags struct {
	addr     string
	timeout  time.Duration
	maxBytes int
	apiKey   string
	tlsCA    string
	tlsCert  string
	tlsKey   string
	tlsName  string
}

func (c *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.addr, "addr", DefaultAddr, "address of the hartd server")
	cmd.Flags().DurationVar(&c.timeout, "timeout", 30*time.Second, "deadline of each call")
	cmd.Flags().IntVar(&c.maxBytes, "max-message-bytes", 64<<20, "largest message sent or received")
	cmd.Flags().StringVar(&c.apiKey, "api-key", "", "API key sent as authorization: Bearer <key> (better set HARTD_API_KEY than pass it on the command line)")
	cmd.Flags().StringVar(&c.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate: connect with TLS (empty: plaintext)")
	cmd.Flags().StringVar(&c.tlsCert, "tls-client-cert", "", "PEM client certificate, for a server with --tls-client-ca (mutual TLS)")
	cmd.Flags().StringVar(&c.tlsKey, "tls-client-key", "", "PEM key of --tls-client-cert")
	cmd.Flags().StringVar(&c.tlsName, "tls-server-name", "", "name to verify in the server's certificate (default: the host of --addr)")
}

// bearerCreds sends the API key with every call.
type bearerCreds struct{ key string }

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

// RequireTransportSecurity is false so that a key may travel in plaintext
// to a server on loopback; a server beyond loopback without TLS logs a
// warning at start.
func (b bearerCreds) RequireTransportSecurity() bool { return false }

// dialOptions are the options of every client connection: TLS with
// --tls-ca, the API key, the message size bounds.
func (c *clientFlags) dialOptions() ([]grpc.DialOption, error) {
	creds := insecure.NewCredentials()
	if c.tlsCA != "" {
		cfg, err := tlsx.ClientConfig(c.tlsCA, c.tlsCert, c.tlsKey, c.tlsName)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	} else if c.tlsCert != "" || c.tlsKey != "" {
		return nil, errors.New("--tls-client-cert and --tls-client-key need --tls-ca")
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.maxBytes), grpc.MaxCallSendMsgSize(c.maxBytes))}
	if c.apiKey != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearerCreds{key: c.apiKey}))
	}
	return opts, nil
}

func (c *clientFlags) dial() (pb.HartonomousServiceClient, func(), error) {
	opts, err := c.dialOptions()
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient(c.addr, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", c.addr, err)
	}
	return pb.NewHartonomousServiceClient(conn), func() { conn.Close() }, nil
}

func (c *clientFlags) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// run dials the server, calls fn with a client and a context bounded by
// --timeout, and closes the connection.
func (c *clientFlags) run(cmd *cobra.Command, fn func(ctx context.Context, cl pb.HartonomousServiceClient) error) error {
	cl, closeConn, err := c.dial()
	if err != nil {
		return err
	}
	defer closeConn()
	ctx, cancel := c.call(cmd.Context())
	defer cancel()
	return fn(ctx, cl)
}

// rpcErr makes a status error readable: its code and message.
func rpcErr(what string, err error) error {
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("%s: %s: %s", what, st.Code(), st.Message())
	}
	return fmt.Errorf("%s: %w", what, err)
}

func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "Create and list models"}
	var cf clientFlags
	var name, metric string
	var dim int
	var seed uint64
	create := &cobra.Command{
		Use:   "create --name N --dim D [--metric cosine|l2]",
		Short: "Register a model",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				m := pb.Metric_METRIC_COSINE
				switch strings.ToLower(metric) {
				case "cosine", "":
				case "l2":
					m = pb.Metric_METRIC_L2
				default:
					return fmt.Errorf("--metric %q: want cosine or l2", metric)
				}
				if dim < 1 || dim > math.MaxUint32 {
					return fmt.Errorf("--dim %d: the dimension must be between 1 and 4096", dim)
				}
				resp, err := c.CreateModel(ctx, &pb.CreateModelRequest{Name: name, Dimension: uint32(dim), Metric: m, AnchorSeed: seed})
				if err != nil {
					return rpcErr("create model", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created model %s (dimension %d, %s)\n", resp.Model.Name, resp.Model.Dimension, metricName(resp.Model.Metric))
				return nil
			})
		},
	}
	cf.register(create)
	create.Flags().StringVar(&name, "name", "", "model name (required)")
	create.Flags().IntVar(&dim, "dim", 0, "vector dimension, 1 to 4096 (required)")
	create.Flags().StringVar(&metric, "metric", "cosine", "cosine or l2")
	create.Flags().Uint64Var(&seed, "anchor-seed", 0, "seed of the anchor choice (0: derived from the name)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("dim")

	var lf clientFlags
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List models",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.ListModels(ctx, &pb.ListModelsRequest{})
				if err != nil {
					return rpcErr("list models", err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(out)
					for _, m := range resp.Models {
						enc.Encode(map[string]any{"name": m.Name, "dimension": m.Dimension, "metric": metricName(m.Metric),
							"count": m.Count, "projection_ready": m.ProjectionReady, "created": m.CreateTime.AsTime()})
					}
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tDIM\tMETRIC\tCOUNT\tPROJECTION\tCREATED")
				for _, m := range resp.Models {
					proj := "pending"
					if m.ProjectionReady {
						proj = "ready"
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\n", m.Name, m.Dimension, metricName(m.Metric), m.Count, proj,
						m.CreateTime.AsTime().Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	lf.register(list)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	cmd.AddCommand(create, list)
	return cmd
}

func metricName(m pb.Metric) string {
	if m == pb.Metric_METRIC_L2 {
		return "l2"
	}
	return "cosine"
}

// queryVector reads the query of search from exactly one of its sources.
func queryVector(ctx context.Context, c pb.HartonomousServiceClient, model, vector, file string, row int, id int64) ([]float32, error) {
	n := 0
	for _, set := range []bool{vector != "", file != "", id != 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("give the query as exactly one of --vector, --vector-file or --id")
	}
	switch {
	case vector != "":
		var v []float32
		if err := json.Unmarshal([]byte(vector), &v); err != nil {
			return nil, fmt.Errorf("--vector: want a JSON array of numbers: %w", err)
		}
		return v, nil
	case id != 0:
		resp, err := c.Get(ctx, &pb.GetRequest{Model: model, Id: id})
		if err != nil {
			return nil, rpcErr(fmt.Sprintf("get item %d", id), err)
		}
		return resp.Item.Vector, nil
	}
	if _, err := vecfile.FormatOf(file); err != nil {
		// Not an embedding file: a JSON array.
		b, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, fmt.Errorf("--vector-file: %w", rerr)
		}
		var v []float32
		if jerr := json.Unmarshal(b, &v); jerr != nil {
			return nil, fmt.Errorf("--vector-file %s: neither a JSON array (%v) nor %v", file, jerr, err)
		}
		return v, nil
	}
	r, closer, err := vecfile.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--vector-file %s: %w", file, err)
	}
	defer closer.Close()
	for i := 1; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("--vector-file %s: --row %d: the file has %d records", file, row, i-1)
		}
		if err != nil {
			return nil, fmt.Errorf("--vector-file %s: %w", file, err)
		}
		if i == row {
			return rec.Vector, nil
		}
	}
}

func newSearchCmd() *cobra.Command {
	var cf clientFlags
	var model, vector, file string
	var k, row, candidates int
	var mode string
	var id int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search --model N (--vector JSON | --vector-file F [--row R] | --id ID) [-k 10] [--json]",
		Short: "Search a model for the nearest embeddings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				q, err := queryVector(ctx, c, model, vector, file, row, id)
				if err != nil {
					return err
				}
				if k < 1 || k > 1<<20 {
					return fmt.Errorf("-k %d is out of range", k)
				}
				pm, ok := searchModes[strings.ToLower(mode)]
				if !ok {
					return fmt.Errorf("--mode %q: want hybrid, exact, seed or store", mode)
				}
				if candidates < 0 {
					return fmt.Errorf("--candidates %d: want 0 (the mode's default) or more", candidates)
				}
				resp, err := c.Search(ctx, &pb.SearchRequest{Model: model, Vector: q, K: uint32(k), Mode: pm, Candidates: uint32(candidates)})
				if err != nil {
					return rpcErr("search", err)
				}
				return printHits(cmd.OutOrStdout(), resp, asJSON)
			})
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model to search (required)")
	f.StringVar(&vector, "vector", "", "query vector as a JSON array")
	f.StringVar(&file, "vector-file", "", "file holding the query: a JSON array, or a .jsonl/.npy/.fvecs file (see --row)")
	f.IntVar(&row, "row", 1, "with --vector-file of embeddings: which record, counting from 1")
	f.Int64Var(&id, "id", 0, "use the stored vector of this item as the query")
	f.IntVarP(&k, "k", "k", 10, "number of hits, 1 to 1000")
	f.BoolVar(&asJSON, "json", false, "print each hit as a JSON line, with its text and metadata")
	f.StringVar(&mode, "mode", "hybrid", "hybrid (the index; the default), exact (every row), seed (the original two steps) or store (the two steps inside the database)")
	f.IntVar(&candidates, "candidates", 0, "rows re-ranked exactly: more for recall, fewer for speed (0: the mode's default)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

type hitJSON struct {
	Rank       int             `json:"rank"`
	ID         int64           `json:"id"`
	AtomID     int64           `json:"atom_id"`
	Score      float32         `json:"score"`
	Point      *[3]float64     `json:"point,omitempty"`
	Text       string          `json:"text,omitempty"`
	SourceURI  string          `json:"source_uri,omitempty"`
	SourceType string          `json:"source_type,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

func printHits(out io.Writer, resp *pb.SearchResponse, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		for i, h := range resp.Hits {
			j := hitJSON{Rank: i + 1, ID: h.Id, AtomID: h.AtomId, Score: h.Score, Text: h.Text, SourceURI: h.SourceUri, SourceType: h.SourceType}
			if h.Point != nil {
				j.Point = &[3]float64{h.Point.X, h.Point.Y, h.Point.Z}
			}
			if h.Metadata != "" {
				j.Metadata = json.RawMessage(h.Metadata)
			}
			if err := enc.Encode(j); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tID\tSCORE\tTEXT")
	for i, h := range resp.Hits {
		text := h.Text
		if len(text) > 60 {
			text = text[:57] + "..."
		}
		fmt.Fprintf(tw, "%d\t%d\t%.6f\t%s\n", i+1, h.Id, h.Score, strings.ReplaceAll(text, "\n", " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s := resp.Stats; s != nil {
		fmt.Fprintf(out, "\n%d rows, %d distances, %d pruned by region; scan %s, fetch %s\n", s.Rows, s.DistancesComputed, s.RegionPruned,
			time.Duration(s.ScanUs)*time.Microsecond, time.Duration(s.FetchUs)*time.Microsecond)
	}
	return nil
}

func newGetCmd() *cobra.Command {
	var cf clientFlags
	var model string
	var id int64
	cmd := &cobra.Command{
		Use:   "get --model N --id ID",
		Short: "Print one stored item as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.Get(ctx, &pb.GetRequest{Model: model, Id: id})
				if err != nil {
					return rpcErr("get", err)
				}
				it := resp.Item
				j := map[string]any{"id": it.Id, "atom_id": it.AtomId, "model": it.Model, "vector": it.Vector,
					"text": it.Text, "source_uri": it.SourceUri, "source_type": it.SourceType, "created": it.CreateTime.AsTime()}
				if it.Point != nil {
					j["point"] = []float64{it.Point.X, it.Point.Y, it.Point.Z}
				}
				if it.Metadata != "" {
					j["metadata"] = json.RawMessage(it.Metadata)
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(j)
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model (required)")
	cmd.Flags().Int64Var(&id, "id", 0, "item id (required)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("id")
	return cmd
}

func newDeleteCmd() *cobra.Command {
	var cf clientFlags
	var model string
	cmd := &cobra.Command{
		Use:   "delete --model N ID...",
		Short: "Delete items, all or none",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args))
			for i, a := range args {
				v, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return fmt.Errorf("id %q: %w", a, err)
				}
				ids[i] = v
			}
			return cf.run(cmd, func(ctx context.Context, c pb.HartonomousServiceClient) error {
				resp, err := c.Delete(ctx, &pb.DeleteRequest{Model: model, Ids: ids})
				if err != nil {
					return rpcErr("delete", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %d\n", resp.Deleted)
				return nil
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "model (required)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

var searchModes = map[string]pb.SearchMode{
	"hybrid": pb.SearchMode_SEARCH_MODE_HYBRID,
	"exact":  pb.SearchMode_SEARCH_MODE_EXACT,
	"seed":   pb.SearchMode_SEARCH_MODE_SEED,
	"store":  pb.SearchMode_SEARCH_MODE_STORE,
}
