package main

// The configuration file of `hartd serve` and `hartd config print`.
//
// A file is YAML, a mapping whose keys are serve's flag names:
//
//	data-dir: /var/lib/hartd
//	listen: 0.0.0.0:50051
//	shutdown-timeout: 30s
//
// Each setting comes from the first of: the command line, the environment
// (HARTD_DATA_DIR, see bindEnv), the file named by --config (or
// HARTD_CONFIG), the flag's default. A key that is not a flag of serve is an
// error naming it.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configFlag names the flag of the configuration file.
const configFlag = "config"

// registerConfigFlag adds --config to serve's flags.
func registerConfigFlag(f *pflag.FlagSet, path *string) {
	f.StringVar(path, configFlag, "", "YAML file of settings keyed by flag name (data-dir: /var/lib/hartd); flags and HARTD_* variables win over it")
}

// Where a setting came from, in order of precedence.
const (
	fromFlag    = "flag"
	fromEnv     = "env"
	fromFile    = "file"
	fromDefault = "default"
)

// applyConfigFile sets every flag of fs not set yet (on the command line or
// from the environment) that the file named by --config gives. It returns
// the names of the flags it set; with no --config it does nothing.
func applyConfigFile(fs *pflag.FlagSet) (map[string]bool, error) {
	cf := fs.Lookup(configFlag)
	if cf == nil || cf.Value.String() == "" {
		return nil, nil
	}
	path := cf.Value.String()
	settings, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range settings {
		f := fs.Lookup(s.key)
		if f == nil || s.key == configFlag || s.key == "help" {
			return nil, fmt.Errorf("config %s: line %d: unknown key %q%s", path, s.line, s.key, suggestKey(fs, s.key))
		}
		if f.Changed {
			continue // the command line or the environment wins
		}
		if err := fs.Set(s.key, s.value); err != nil {
			return nil, fmt.Errorf("config %s: line %d: %s: %w", path, s.line, s.key, err)
		}
		set[s.key] = true
	}
	return set, nil
}

type setting struct {
	key, value string
	line       int
}

// readConfigFile parses a YAML mapping of scalars.
func readConfigFile(path string) ([]setting, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".toml" || ext == ".json" || ext == ".ini" {
		return nil, fmt.Errorf("config %s: %s files are not read; write YAML (key: value per line)", path, ext)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(path, b)
}

func parseConfig(path string, b []byte) ([]setting, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: want one YAML document", path)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s: line %d: want a mapping of flag names to values", path, root.Line)
	}
	var out []setting
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("config %s: line %d: a key must be a flag name", path, k.Line)
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("config %s: line %d: key %q repeats line %d", path, k.Line, k.Value, prev)
		}
		seen[k.Value] = k.Line
		switch {
		case v.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("config %s: line %d: %s: want a single value", path, v.Line, k.Value)
		case v.Tag == "!!null" && v.Style == 0 && (v.Value == "" || v.Value == "~" || strings.EqualFold(v.Value, "null")):
			return nil, fmt.Errorf("config %s: line %d: %s has no value (write \"\" for an empty one)", path, v.Line, k.Value)
		}
		out = append(out, setting{key: k.Value, value: v.Value, line: k.Line})
	}
	return out, nil
}

// suggestKey proposes the flag a mistyped key may mean.
func suggestKey(fs *pflag.FlagSet, key string) string {
	alt := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(key))
	if f := fs.Lookup(alt); f != nil && alt != key && alt != configFlag {
		return fmt.Sprintf(" (did you mean %q?)", alt)
	}
	return ""
}

// flagSources tells, for each flag of fs, where its value came from.
// cmdline holds the flags given on the command line and file those set
// from the file; any other flag that is set came from the environment.
func flagSources(fs *pflag.FlagSet, cmdline, file map[string]bool) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) {
		switch {
		case cmdline[f.Name]:
			out[f.Name] = fromFlag
		case file[f.Name]:
			out[f.Name] = fromFile
		case f.Changed:
			out[f.Name] = fromEnv
		default:
			out[f.Name] = fromDefault
		}
	})
	return out
}

// secretFlag reports whether a flag's value must not be printed.
func secretFlag(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"dsn", "key", "secret", "password", "token"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

const masked = "xxxxx"

// kvPassword matches a password in a key=value DSN: libpq's
// "password=secret" or "password='a b'", ADO's "Password=secret;".
var kvPassword = regexp.MustCompile(`(?i)\b(password|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'|"[^"]*"|[^\s;]*)`)

// maskValue returns the value of flag name as it may be printed: a DSN
// with its password replaced, any other secret replaced whole.
func maskValue(name, value string) string {
	if value == "" || !secretFlag(name) {
		return value
	}
	if !strings.Contains(strings.ToLower(name), "dsn") {
		return masked
	}
	return maskDSN(value)
}

// maskDSN hides the password of a URL DSN (postgres://u:p@h/db,
// sqlserver://u:p@h?database=d, also a password= query parameter) or of a
// key=value DSN. Without a recognizable form it hides the whole value.
func maskDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && (u.Host != "" || u.User != nil) {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
		q := u.Query()
		changed := false
		for k := range q {
			if strings.EqualFold(k, "password") || strings.EqualFold(k, "pwd") {
				q.Set(k, masked)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if strings.Contains(dsn, "=") {
		return kvPassword.ReplaceAllString(dsn, "${1}${2}"+masked)
	}
	return masked
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the server's configuration"}
	serveCmd := newServeCmd()
	var cmdline map[string]bool
	printCmd := &cobra.Command{
		Use:   "print [serve flags]",
		Short: "Print the effective configuration of `hartd serve`, secrets masked",
		Long: `Print the configuration that ` + "`hartd serve`" + ` would run with, given the same
flags, environment and --config file, as YAML that can serve as a
configuration file (but for masked secrets). Each line's comment says where
its value came from: flag, env, file or default.`,
		Args: cobra.NoArgs,
		// Replaces the root's hook, to see which flags the command line
		// set before the environment is applied.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmdline = map[string]bool{}
			cmd.Flags().Visit(func(f *pflag.Flag) { cmdline[f.Name] = true })
			return bindEnv(cmd)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			fromFileSet, err := applyConfigFile(cmd.Flags())
			if err != nil {
				return err
			}
			return printConfig(cmd.OutOrStdout(), cmd.Flags(), flagSources(cmd.Flags(), cmdline, fromFileSet))
		},
	}
	printCmd.Flags().AddFlagSet(serveCmd.Flags())
	cmd.AddCommand(printCmd)
	return cmd
}

func printConfig(w io.Writer, fs *pflag.FlagSet, sources map[string]string) error {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range names {
		if name == configFlag {
			continue
		}
		f := fs.Lookup(name)
		src := sources[name]
		if src == fromEnv {
			src += " " + envName(name)
		}
		v := &yaml.Node{Kind: yaml.ScalarNode, Value: maskValue(name, f.Value.String()), LineComment: src}
		if v.Value == "" {
			v.Style = yaml.DoubleQuotedStyle
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, v)
	}
	head := "# hartd serve: effective configuration (flag > environment > file > default)\n"
	if cf := fs.Lookup(configFlag); cf != nil && cf.Value.String() != "" {
		head += fmt.Sprintf("# --config %s (%s)\n", cf.Value.String(), sources[configFlag])
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("config print: %w", err)
	}
	_, err = io.WriteString(w, head+string(b))
	return err
}
