package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Phase names, in the order a deployment runs them.
const (
	PhasePrerequisites = "prerequisites"
	PhaseDatabase      = "database"
	PhaseFilestream    = "filestream"
	PhaseCLR           = "clr"
	PhaseMigrations    = "migrations"
	PhaseProcedures    = "procedures"
	PhaseServiceBroker = "service-broker"
	PhaseVerification  = "verification"
	PhaseReferenceData = "reference-data"
)

// PhaseNames lists the phases of a deployment in order.
var PhaseNames = []string{
	PhasePrerequisites, PhaseDatabase, PhaseFilestream, PhaseCLR, PhaseMigrations,
	PhaseProcedures, PhaseServiceBroker, PhaseVerification, PhaseReferenceData,
}

// Status is the outcome of a phase.
type Status int

// Outcomes of a phase.
const (
	// StatusOK: the phase checked the server and found what it needs.
	StatusOK Status = iota
	// StatusChanged: the phase changed the server.
	StatusChanged
	// StatusUnchanged: the phase found its work already done.
	StatusUnchanged
	// StatusSkipped: the phase applies to this dialect but has nothing to
	// do, for the reason given.
	StatusSkipped
	// StatusNotApplicable: the dialect has no such thing.
	StatusNotApplicable
	// StatusInProcess: hartd does this itself, in its own process.
	StatusInProcess
	// StatusFailed: the phase failed; the run stops.
	StatusFailed
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusChanged:
		return "changed"
	case StatusUnchanged:
		return "unchanged"
	case StatusSkipped:
		return "skipped"
	case StatusNotApplicable:
		return "not applicable"
	case StatusInProcess:
		return "in-process"
	case StatusFailed:
		return "FAILED"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is what a phase found and did.
type Result struct {
	Status Status
	// Notes are printed under the phase's line, one line each.
	Notes []string
}

func result(s Status, notes ...string) Result { return Result{Status: s, Notes: notes} }

// Step is one statement (for SQL Server, one batch) that a phase may send.
type Step struct {
	// On names the database the step runs in when it is not the target's
	// own: "master" on SQL Server, "postgres" on PostgreSQL.
	On string
	// When, if not empty, says when the step is sent; a dry run prints it
	// as a comment.
	When string
	// SQL is the exact text sent.
	SQL string
	// Args are its parameters, in placeholder order.
	Args []any
}

// Phase is one step of a deployment.
type Phase struct {
	Name string
	// Script returns every statement the phase may send, in order, for a
	// dry run; it needs no server. A phase that sends nothing returns the
	// reason as a Step with only When set.
	Script func() ([]Step, error)
	// Run runs the phase against the server.
	Run func(ctx context.Context, s *Session) (Result, error)
}

// Plan is the ordered phases of one deployment (or rollback) of a target.
type Plan struct {
	Target Target
	// Title says what the plan does, for the first line of its output.
	Title  string
	Phases []Phase
}

// Only returns the plan reduced to the phase named name.
func (p *Plan) Only(name string) (*Plan, error) {
	for _, ph := range p.Phases {
		if ph.Name == name {
			q := *p
			q.Phases = []Phase{ph}
			return &q, nil
		}
	}
	return nil, fmt.Errorf("deploy: no phase %q; phases: %s", name, strings.Join(phaseNames(p.Phases), ", "))
}

func phaseNames(ps []Phase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Failure is the error of a failed phase: its cause and how to fix it.
type Failure struct {
	Phase string
	Cause error
	Fix   string
}

func (f *Failure) Error() string {
	if f.Phase == "" {
		return f.Cause.Error()
	}
	return fmt.Sprintf("%s: %v", f.Phase, f.Cause)
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Cause }

// fail returns err as a *Failure with a fix.
func fail(err error, fix string, args ...any) error {
	return &Failure{Cause: err, Fix: fmt.Sprintf(fix, args...)}
}

// failf returns a *Failure for a new error.
func failf(fix string, format string, args ...any) error {
	return &Failure{Cause: fmt.Errorf(format, args...), Fix: fix}
}

// Runner runs plans and prints their progress.
type Runner struct {
	// Out receives the report: a line per phase with its status and time,
	// its notes below it.
	Out io.Writer
	// Log receives structured records of the same events; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
	// Open opens database connections; nil means the dialect's driver.
	Open Opener
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run runs the plan's phases in order against the server and prints each
// phase's outcome. It stops at the first failure and returns a *Failure
// naming the phase, the cause and the fix, after printing them.
func (r *Runner) Run(ctx context.Context, p *Plan) error {
	s := newSession(p.Target, r.Open)
	defer s.Close()
	w := r.Out
	fmt.Fprintf(w, "hartd %s: %s\n", p.Title, p.Target)
	start := r.now()
	changed := 0
	for i, ph := range p.Phases {
		t0 := r.now()
		res, err := ph.Run(ctx, s)
		d := r.now().Sub(t0)
		if err != nil {
			f := asFailure(ph.Name, p.Target, err)
			fmt.Fprintf(w, "%2d/%d %-15s %-15s %s\n", i+1, len(p.Phases), ph.Name, StatusFailed, fmtDuration(d))
			for _, n := range res.Notes {
				fmt.Fprintf(w, "      %s\n", p.Target.mask(n))
			}
			fmt.Fprintf(w, "      cause: %s\n", p.Target.mask(f.Cause.Error()))
			fmt.Fprintf(w, "      fix:   %s\n", f.Fix)
			if rest := len(p.Phases) - i - 1; rest > 0 {
				fmt.Fprintf(w, "stopped: %s failed; the %d phase(s) after it did not run (%s)\n", ph.Name, rest, fmtDuration(r.now().Sub(start)))
			} else {
				fmt.Fprintf(w, "stopped: %s failed (%s)\n", ph.Name, fmtDuration(r.now().Sub(start)))
			}
			r.log().LogAttrs(ctx, slog.LevelError, "deploy phase failed", slog.String("phase", ph.Name),
				slog.String("cause", p.Target.mask(f.Cause.Error())), slog.Duration("took", d))
			return f
		}
		if res.Status == StatusChanged {
			changed++
		}
		fmt.Fprintf(w, "%2d/%d %-15s %-15s %s\n", i+1, len(p.Phases), ph.Name, res.Status, fmtDuration(d))
		for _, n := range res.Notes {
			fmt.Fprintf(w, "      %s\n", p.Target.mask(n))
		}
		r.log().LogAttrs(ctx, slog.LevelDebug, "deploy phase done", slog.String("phase", ph.Name),
			slog.String("status", res.Status.String()), slog.Duration("took", d))
	}
	total := fmtDuration(r.now().Sub(start))
	switch {
	case changed == 0:
		fmt.Fprintf(w, "done: no changes to %s (%s)\n", p.Target, total)
	default:
		fmt.Fprintf(w, "done: %d phase(s) changed %s (%s)\n", changed, p.Target, total)
	}
	return nil
}

// asFailure makes any phase error a *Failure with a fix.
func asFailure(phase string, t Target, err error) *Failure {
	var f *Failure
	if !errors.As(err, &f) {
		f = &Failure{Cause: err, Fix: classify(t, err)}
	} else {
		c := *f
		f = &c
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		f.Fix = "the run was interrupted; run it again (every phase is idempotent)"
	}
	f.Phase = phase
	return f
}

// DryRun prints the SQL of every phase of the plan without connecting to
// any server.
func (r *Runner) DryRun(p *Plan) error {
	w := r.Out
	fmt.Fprintf(w, "-- hartd %s --dry-run: %s\n", p.Title, p.Target)
	fmt.Fprintf(w, "-- Nothing was sent. These are the statements the phases send to a server\n")
	fmt.Fprintf(w, "-- that has nothing of hartd yet, in order; a phase reads the server's state\n")
	fmt.Fprintf(w, "-- first and sends only what differs (each step says when it is sent).\n")
	for i, ph := range p.Phases {
		steps, err := ph.Script()
		if err != nil {
			return fmt.Errorf("deploy: %s: %w", ph.Name, err)
		}
		fmt.Fprintf(w, "\n-- ==== %d/%d %s\n", i+1, len(p.Phases), ph.Name)
		on := "\x00" // the database the steps run in; "" is the target's
		for _, st := range steps {
			if st.On != on && st.SQL != "" {
				db := st.On
				if db == "" {
					db = p.Target.Database
				}
				fmt.Fprintf(w, "-- in database %s\n", db)
				on = st.On
			}
			if st.When != "" {
				for _, l := range strings.Split(st.When, "\n") {
					fmt.Fprintf(w, "-- %s\n", l)
				}
			}
			if len(st.Args) > 0 {
				fmt.Fprintf(w, "-- parameters: %s\n", fmtArgs(p.Target.Dialect, st.Args))
			}
			if st.SQL == "" {
				continue
			}
			text := strings.TrimRight(st.SQL, " \t\n")
			switch {
			case p.Target.Dialect == SQLServer:
				text += "\nGO" // each step is one batch
			case !strings.HasSuffix(text, ";"):
				text += ";"
			}
			fmt.Fprintln(w, text)
		}
	}
	return nil
}

func fmtArgs(dialect string, args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		name := fmt.Sprintf("$%d", i+1)
		if dialect == SQLServer {
			name = fmt.Sprintf("@p%d", i+1)
		} else if dialect == SQLite {
			name = fmt.Sprintf("?%d", i+1)
		}
		switch v := a.(type) {
		case string:
			parts[i] = fmt.Sprintf("%s = '%s'", name, strings.ReplaceAll(v, "'", "''"))
		default:
			parts[i] = fmt.Sprintf("%s = %v", name, v)
		}
	}
	return strings.Join(parts, ", ")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// notApplicable is a phase that does nothing on a dialect, for a reason.
func notApplicable(name string, status Status, reason string) Phase {
	return Phase{
		Name:   name,
		Script: func() ([]Step, error) { return []Step{{When: status.String() + ": " + reason}}, nil },
		Run: func(context.Context, *Session) (Result, error) {
			return result(status, reason), nil
		},
	}
}
