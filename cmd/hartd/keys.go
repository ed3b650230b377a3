package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/open"
)

// storeFlags name the store of a command that works on it directly.
type storeFlags struct {
	dsn     string
	dataDir string
}

func (s *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.dsn, "dsn", "", "the store, as serve --dsn (empty: the embedded store in --data-dir)")
	cmd.Flags().StringVar(&s.dataDir, "data-dir", "./hartd-data", "directory of the embedded store")
}

func (s *storeFlags) open(ctx context.Context) (store.Store, error) {
	st, err := open.Open(ctx, s.dsn, open.Options{DataDir: s.dataDir})
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	return st, nil
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys (on the store directly)",
		Long: `API keys identify a tenant and a principal. They are stored hashed
(SHA-256); a new key is printed once and cannot be shown again. As soon as
one active key exists, a running server (within --auth-ttl) requires a key
on every call; with none it serves the default tenant on loopback only.
These commands open the store itself (--data-dir or --dsn), so they work
with the server running or not.`,
	}
	var cf storeFlags
	var tenantName, name string
	create := &cobra.Command{
		Use:   "create --tenant T [--name N]",
		Short: "Create an API key for a tenant (created if new) and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := cf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			t, err := st.EnsureTenant(ctx, tenantName)
			if err != nil {
				return err
			}
			if name == "" {
				name = tenantName
			}
			key, hash, err := auth.NewKey()
			if err != nil {
				return err
			}
			k, err := st.CreateAPIKey(ctx, store.APIKey{TenantID: t.ID, Name: name, Prefix: auth.DisplayPrefix(key), Hash: hash})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created key %d for tenant %s (id %d), principal %s\n", k.ID, t.Name, t.ID, k.Name)
			fmt.Fprintf(out, "key (shown once; store it now): %s\n", key)
			return nil
		},
	}
	cf.register(create)
	create.Flags().StringVar(&tenantName, "tenant", "", "tenant name (required)")
	create.Flags().StringVar(&name, "name", "", "the principal the key stands for (default: the tenant's name)")
	_ = create.MarkFlagRequired("tenant")

	var lf storeFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (their prefixes, never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := lf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			ks, err := st.APIKeys(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tPRINCIPAL\tPREFIX\tCREATED\tSTATE")
			for _, k := range ks {
				state := "active"
				if !k.RevokedAt.IsZero() {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.TenantName, k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), state)
			}
			return tw.Flush()
		},
	}
	lf.register(list)

	var rf storeFlags
	revoke := &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke API keys by id (see keys list)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := rf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var errs []error
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					errs = append(errs, fmt.Errorf("key id %q: %w", a, err))
					continue
				}
				if err := st.RevokeAPIKey(ctx, id); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked key %d\n", id)
			}
			return errors.Join(errs...)
		},
	}
	rf.register(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
