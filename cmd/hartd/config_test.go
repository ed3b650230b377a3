package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// clearHartdEnv unsets every HARTD_* variable for the test, so that the
// caller's settings cannot leak in; t.Setenv restores them afterwards.
func clearHartdEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HARTD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// resolveServe runs serve's own hooks (the root's bindEnv, then serve's
// PreRunE) on args and returns the resulting flags, without serving.
func resolveServe(t *testing.T, args []string) (*pflag.FlagSet, error) {
	t.Helper()
	cmd := newServeCmd()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	if err := bindEnv(cmd); err != nil {
		return nil, err
	}
	return cmd.Flags(), cmd.PreRunE(cmd, nil)
}

type printed struct{ value, source string }

// configPrint runs `hartd config print` with args and parses its output.
func configPrint(t *testing.T, args ...string) (map[string]printed, string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"config", "print"}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		return nil, out.String(), err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("config print is not YAML: %v\n%s", err, out.String())
	}
	got := map[string]printed{}
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		got[m.Content[i].Value] = printed{m.Content[i+1].Value, strings.TrimPrefix(m.Content[i+1].LineComment, "# ")}
	}
	return got, out.String(), nil
}

// TestPrecedence checks flag > environment > file > default, for serve and
// for config print, one level at a time.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "hartd.yaml", "# every level but the flag and the environment\n"+
		"listen: 10.0.0.1:1\nshutdown-timeout: 45s\nmax-message-bytes: 1024\n")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string // --listen
		source  string
		timeout string // --shutdown-timeout: the file's unless the flag or env says
	}{
		{name: "default", want: DefaultAddr, source: fromDefault, timeout: "30s"},
		{name: "file", args: []string{"--config", file}, want: "10.0.0.1:1", source: fromFile, timeout: "45s"},
		{name: "file named by the environment", env: map[string]string{"HARTD_CONFIG": file},
			want: "10.0.0.1:1", source: fromFile, timeout: "45s"},
		{name: "environment over file", args: []string{"--config", file},
			env:  map[string]string{"HARTD_LISTEN": "10.0.0.2:2"},
			want: "10.0.0.2:2", source: fromEnv + " HARTD_LISTEN", timeout: "45s"},
		{name: "flag over environment and file", args: []string{"--config", file, "--listen", "10.0.0.3:3", "--shutdown-timeout", "5s"},
			env:  map[string]string{"HARTD_LISTEN": "10.0.0.2:2", "HARTD_SHUTDOWN_TIMEOUT": "7s"},
			want: "10.0.0.3:3", source: fromFlag, timeout: "5s"},
		{name: "environment over file, other flag", args: []string{"--config", file},
			env:  map[string]string{"HARTD_SHUTDOWN_TIMEOUT": "7s"},
			want: "10.0.0.1:1", source: fromFile, timeout: "7s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearHartdEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs, err := resolveServe(t, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.Lookup("listen").Value.String(); got != tc.want {
				t.Errorf("serve --listen = %q, want %q", got, tc.want)
			}
			if got := fs.Lookup("shutdown-timeout").Value.String(); got != tc.timeout {
				t.Errorf("serve --shutdown-timeout = %q, want %q", got, tc.timeout)
			}

			got, out, err := configPrint(t, tc.args...)
			if err != nil {
				t.Fatalf("config print: %v\n%s", err, out)
			}
			if p := got["listen"]; p.value != tc.want || p.source != tc.source {
				t.Errorf("config print: listen %+v, want %q from %q\n%s", p, tc.want, tc.source, out)
			}
			if p := got["shutdown-timeout"]; p.value != tc.timeout {
				t.Errorf("config print: shutdown-timeout %+v, want %q", p, tc.timeout)
			}
			if p := got["data-dir"]; p.value != "./hartd-data" || p.source != fromDefault {
				t.Errorf("config print: data-dir %+v, want the default", p)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown key", "listen: a:1\nlistn: b:2\n", `line 2: unknown key "listn"`},
		{"underscore suggests the flag", "data_dir: /x\n", `unknown key "data_dir" (did you mean "data-dir"?)`},
		{"client flag", "addr: x:1\n", `unknown key "addr"`},
		{"config in a config", "config: other.yaml\n", `unknown key "config"`},
		{"bad value", "shutdown-timeout: soon\n", `line 1: shutdown-timeout: invalid argument "soon"`},
		{"no value", "data-dir:\n", "data-dir has no value"},
		{"list", "listen: [a, b]\n", "listen: want a single value"},
		{"repeated key", "listen: a:1\nlisten: b:2\n", `key "listen" repeats line 1`},
		{"not a mapping", "- listen\n", "want a mapping"},
		{"not YAML", "listen: 'open\n", "config "},
		{"two documents", "listen: a:1\n---\nsync: full\n", "want one YAML document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearHartdEnv(t)
			file := writeFile(t, "hartd.yaml", tc.text)
			_, err := resolveServe(t, []string{"--config", file})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: error %v, want one containing %q", err, tc.want)
			}
			if _, _, err := configPrint(t, "--config", file); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("config print: error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		clearHartdEnv(t)
		if _, err := resolveServe(t, []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}); err == nil || !os.IsNotExist(unwrapAll(err)) {
			t.Fatalf("error %v, want not-exist", err)
		}
	})
	t.Run("toml", func(t *testing.T) {
		clearHartdEnv(t)
		file := writeFile(t, "hartd.toml", "listen = \"a:1\"\n")
		if _, err := resolveServe(t, []string{"--config", file}); err == nil || !strings.Contains(err.Error(), "write YAML") {
			t.Fatalf("error %v, want one about YAML", err)
		}
	})
	t.Run("empty and comments only", func(t *testing.T) {
		clearHartdEnv(t)
		for _, text := range []string{"", "# nothing\n"} {
			fs, err := resolveServe(t, []string{"--config", writeFile(t, "hartd.yaml", text)})
			if err != nil || fs.Lookup("listen").Value.String() != DefaultAddr {
				t.Fatalf("%q: %v", text, err)
			}
		}
	})
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// The output of config print, secrets aside, is a configuration file that
// gives the same configuration.
func TestConfigPrintRoundTrip(t *testing.T) {
	clearHartdEnv(t)
	t.Setenv("HARTD_SYNC", "normal")
	first, out, err := configPrint(t, "--listen", "127.0.0.1:1234", "--pprof-listen", "", "--shutdown-timeout", "1m30s")
	if err != nil {
		t.Fatal(err)
	}
	clearHartdEnv(t)
	second, out2, err := configPrint(t, "--config", writeFile(t, "printed.yaml", out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for k, p := range first {
		if second[k].value != p.value {
			t.Errorf("%s: %q printed, %q read back\n%s\n%s", k, p.value, second[k].value, out, out2)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ flag, value, want string }{
		{"listen", "127.0.0.1:1", "127.0.0.1:1"},
		{"api-key", "k-123", masked},
		{"admin-token", "t", masked},
		{"client-secret", "s", masked},
		{"db-password", "p", masked},
		{"api-key", "", ""},
		{"dsn", "postgres://hartd:s3cret@db:5432/hartd?sslmode=disable", "postgres://hartd:xxxxx@db:5432/hartd?sslmode=disable"},
		{"dsn", "postgres://hartd@db/hartd", "postgres://hartd@db/hartd"},
		{"dsn", "postgres://db/hartd?user=u&password=s3cret", "postgres://db/hartd?password=xxxxx&user=u"},
		{"dsn", "sqlserver://sa:P%40ss@sql:1433?database=hartd", "sqlserver://sa:xxxxx@sql:1433?database=hartd"},
		{"dsn", "host=db user=hartd password=s3cret dbname=hartd", "host=db user=hartd password=xxxxx dbname=hartd"},
		{"dsn", "host=db password='a b c' dbname=hartd", "host=db password=xxxxx dbname=hartd"},
		{"dsn", "Server=sql;User Id=sa;Password=s3cret;Database=hartd", "Server=sql;User Id=sa;Password=xxxxx;Database=hartd"},
		{"dsn", "sqlserver://sql?database=hartd&user+id=sa&PWD=s3cret", "sqlserver://sql?PWD=xxxxx&database=hartd&user+id=sa"},
		{"dsn", "opaque-secret-string", masked},
	}
	for _, tc := range tests {
		got := maskValue(tc.flag, tc.value)
		if got != tc.want {
			t.Errorf("maskValue(%q, %q) = %q, want %q", tc.flag, tc.value, got, tc.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "a b c") {
			t.Errorf("maskValue(%q, %q) leaks the secret: %q", tc.flag, tc.value, got)
		}
	}
}

// Flags whose names say they hold secrets are masked in config print.
func TestConfigPrintMasks(t *testing.T) {
	clearHartdEnv(t)
	cmd := newConfigCmd()
	printCmd, _, err := cmd.Find([]string{"print"})
	if err != nil {
		t.Fatal(err)
	}
	var dsn, key string
	printCmd.Flags().StringVar(&dsn, "test-dsn", "", "")
	printCmd.Flags().StringVar(&key, "test-api-key", "", "")
	t.Setenv("HARTD_TEST_DSN", "postgres://u:s3cret@h/db")
	t.Setenv("HARTD_TEST_API_KEY", "s3cret")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"print"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "test-dsn: postgres://u:xxxxx@h/db # env HARTD_TEST_DSN") ||
		!strings.Contains(out.String(), "test-api-key: xxxxx") {
		t.Errorf("config print:\n%s", out.String())
	}
}
