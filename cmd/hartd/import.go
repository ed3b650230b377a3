package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/vecfile"
)

func newImportCmd() *cobra.Command {
	var cf clientFlags
	var model string
	var batch, inflight int
	var progress string
	var skipSemantic bool
	cmd := &cobra.Command{
		Use:   "import --model N FILE",
		Short: "Insert the embeddings of a .jsonl, .npy or .fvecs file",
		Long: `Insert the embeddings of a file, streamed in batches: each batch is one
transaction, acknowledged after its commit. JSON Lines records are
{"vector":[...],"text":"...","source_uri":"...","source_type":"...","metadata":{...}};
.npy files hold a 2-D float32 array; .fvecs files the usual int32 dimension +
float32 values per record. A failed batch stops the import: the batches
before it are stored, it and those after it are not.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > 10000 {
				return fmt.Errorf("--batch %d: want 1 to 10000", batch)
			}
			if inflight < 1 || inflight > 16 {
				return fmt.Errorf("--inflight %d: want 1 to 16", inflight)
			}
			c, closeConn, err := cf.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			r, closer, err := vecfile.Open(args[0])
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			defer closer.Close()
			show := progress == "on" || (progress == "auto" && term.IsTerminal(int(os.Stderr.Fd())))
			return runImport(cmd.Context(), c, cf, model, r, importOptions{batch, inflight, show, skipSemantic}, cmd.OutOrStdout())
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model to insert into (required)")
	f.IntVar(&batch, "batch", 1000, "items per call (one transaction each)")
	f.IntVar(&inflight, "inflight", 2, "calls in flight at once")
	f.StringVar(&progress, "progress", "auto", "progress bar: auto (on a terminal), on or off")
	f.BoolVar(&skipSemantic, "skip-semantic-dedup", false, "skip the semantic deduplication check (content deduplication always applies)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

type importBatch struct {
	first int // record number of the first item, from 1
	items []*pb.Item
}

type importOptions struct {
	batchSize, inflight int
	show, skipSemantic  bool
}

func runImport(ctx context.Context, c pb.HartonomousServiceClient, cf clientFlags, model string, r vecfile.Reader,
	o importOptions, out io.Writer) error {
	batchSize, inflight, show, skipSemantic := o.batchSize, o.inflight, o.show, o.skipSemantic
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bar *progressbar.ProgressBar
	if show {
		bar = progressbar.NewOptions64(int64(r.Len()),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("vectors"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	batches := make(chan importBatch, inflight)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		statuses = map[pb.InsertStatus]int{}
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				cctx, ccancel := cf.call(ctx)
				resp, err := c.Insert(cctx, &pb.InsertRequest{Model: model, Items: b.items, SkipSemanticDedup: skipSemantic})
				ccancel()
				if err != nil {
					fail(rpcErr(fmt.Sprintf("insert records %d to %d", b.first, b.first+len(b.items)-1), err))
					continue
				}
				mu.Lock()
				done += len(b.items)
				for _, r := range resp.GetResults() {
					statuses[r.GetStatus()]++
				}
				mu.Unlock()
				if bar != nil {
					_ = bar.Add(len(b.items))
				}
			}
		}()
	}
	start := time.Now()
	next, cur := 1, importBatch{first: 1}
	var readErr error
	for ctx.Err() == nil {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		cur.items = append(cur.items, &pb.Item{Vector: rec.Vector, Text: rec.Text, SourceUri: rec.SourceURI,
			SourceType: rec.SourceType, Metadata: rec.Metadata})
		next++
		if len(cur.items) == batchSize {
			select {
			case batches <- cur:
			case <-ctx.Done():
			}
			cur = importBatch{first: next}
		}
	}
	if len(cur.items) > 0 && ctx.Err() == nil && readErr == nil {
		batches <- cur
	}
	close(batches)
	wg.Wait()
	if bar != nil {
		_ = bar.Finish()
	}
	took := time.Since(start)
	if readErr != nil {
		fail(readErr)
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	rate := float64(done) / took.Seconds()
	fmt.Fprintf(out, "imported %d vectors into %s in %s (%.0f vectors/s)", done, model, took.Round(time.Millisecond), rate)
	if d := statuses[pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_CONTENT] + statuses[pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_SEMANTIC]; d > 0 {
		fmt.Fprintf(out, ": %d new, %d duplicates of stored content, %d semantic duplicates (their atoms' reference counts went up)",
			statuses[pb.InsertStatus_INSERT_STATUS_NEW], statuses[pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_CONTENT],
			statuses[pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_SEMANTIC])
	}
	fmt.Fprintln(out)
	return firstErr
}
