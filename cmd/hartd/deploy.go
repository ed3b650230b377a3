package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hartonomous/hartd/internal/deploy"
)

// deployFlags are the flags of deploy and its subcommands.
type deployFlags struct {
	dsn       string
	dryRun    bool
	logFormat string
	logLevel  string
}

func newDeployCmd() *cobra.Command {
	var f deployFlags
	var phase string
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Prepare a database for hartd: check, create, migrate, install procedures, verify",
		Long: `Deploy hartd's schema to a database, phase by phase:

  ` + strings.Join(deploy.PhaseNames, ", ") + `

Each phase prints its name, what it found or did, and its time. Phases are
idempotent: a second run changes nothing and says so. A failing phase stops
the run with the cause and its fix, and a non-zero exit status.

--dsn (or HARTD_DSN) names the database:

  sqlserver://user:password@host:1433?database=Hartonomous
  postgres://user:password@host:5432/hartd?sslmode=disable
  sqlite:///var/lib/hartd/hartd.db

--dry-run prints the SQL of every phase and connects to nothing.
See docs/deploy.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(t deploy.Target) (*deploy.Plan, error) {
				p, err := deploy.NewPlan(t)
				if err != nil || phase == "" {
					return p, err
				}
				return p.Only(phase)
			})
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dsn, "dsn", "", "database to deploy: sqlserver://…, postgres://… or sqlite:///path (env HARTD_DSN)")
	pf.BoolVar(&f.dryRun, "dry-run", false, "print the SQL of every phase; connect to nothing")
	pf.StringVar(&f.logFormat, "log-format", "text", "structured log on stderr: text or json")
	pf.StringVar(&f.logLevel, "log-level", "warn", "debug, info, warn or error (the phase report goes to stdout either way)")
	cmd.Flags().StringVar(&phase, "phase", "", "run only this phase: "+strings.Join(deploy.PhaseNames, ", "))
	cmd.AddCommand(newDeployVerifyCmd(&f), newDeployRollbackCmd(&f))
	return cmd
}

func newDeployVerifyCmd(f *deployFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Run only the verification phase: tables, indexes, procedures, migration version, settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(t deploy.Target) (*deploy.Plan, error) {
				p, err := deploy.NewPlan(t)
				if err != nil {
					return nil, err
				}
				return p.Only(deploy.PhaseVerification)
			})
		},
	}
}

func newDeployRollbackCmd(f *deployFlags) *cobra.Command {
	to := -1
	cmd := &cobra.Command{
		Use:   "rollback --to N",
		Short: "Drop the procedures and run down-migrations until the schema is at version N (0: nothing of hartd remains)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("to") && to < 0 {
				return errors.New("deploy rollback: --to N is required (0 removes every hartd object)")
			}
			return f.run(cmd, func(t deploy.Target) (*deploy.Plan, error) {
				return deploy.NewRollbackPlan(t, to)
			})
		},
	}
	cmd.Flags().IntVar(&to, "to", -1, "schema version to roll back to; 0 removes every hartd table, procedure and history")
	return cmd
}

// run parses the DSN, builds the plan and runs it (or prints it).
func (f *deployFlags) run(cmd *cobra.Command, plan func(deploy.Target) (*deploy.Plan, error)) error {
	t, err := deploy.ParseDSN(f.dsn)
	if err != nil {
		return err
	}
	p, err := plan(t)
	if err != nil {
		return err
	}
	log, err := deployLogger(cmd.ErrOrStderr(), f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	r := &deploy.Runner{Out: cmd.OutOrStdout(), Log: log}
	if f.dryRun {
		return r.DryRun(p)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if err := r.Run(ctx, p); err != nil {
		var fe *deploy.Failure
		if errors.As(err, &fe) {
			// The report already named the cause and the fix.
			return exitError{code: 1}
		}
		return err
	}
	return nil
}

func deployLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
