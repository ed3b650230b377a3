// Command hartd is the Hartonomous hybrid vector-spatial search service and
// its client: `hartd serve` runs the gRPC service; `hartd models`, `import`,
// `search`, `get` and `delete` talk to a running server.
//
// Every flag may also be given as an environment variable: HARTD_ followed
// by the flag's name in upper case with '-' as '_' (--data-dir is
// HARTD_DATA_DIR). A flag on the command line wins over the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// DefaultAddr is where serve listens and clients connect by default.
const DefaultAddr = "127.0.0.1:50051"

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "hartd:", err)
		os.Exit(1)
	}
}

// exitError ends the process with code after its message was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "hartd",
		Short:         "Hybrid vector-spatial search service",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd)
		},
	}
	root.AddCommand(newServeCmd(), newModelsCmd(), newImportCmd(), newSearchCmd(), newGetCmd(), newDeleteCmd(), newVersionCmd(), newStatusCmd(), newConfigCmd(), newDeployCmd(), newKeysCmd(), newUsageCmd(), newDedupCmd())
	return root
}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "HARTD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv sets each flag not given on the command line from its
// environment variable, if set.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "hartd", version)
		},
	}
}
