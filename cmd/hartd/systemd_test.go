//go:build linux

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	unitFile   = "../../deploy/systemd/hartd.service"
	envExample = "../../deploy/hartd.env.example"
	unitExec   = "ExecStart=/usr/local/bin/hartd serve"
)

// TestSystemdUnitVerifies runs `systemd-analyze verify` on the unit.
//
// verify checks that ExecStart's binary exists and is executable, and
// /usr/local/bin/hartd is not installed where tests run. So the test
// verifies a copy of the unit, in a temporary directory, whose ExecStart
// names the hartd binary that TestMain has just built; every other line is
// the unit's own. verify reports unknown keys and bad values as warnings
// with exit status 0, so any line of its output that names the unit fails
// the test too. (Lines about other units of the machine are ignored: in a
// container verify may complain about those.)
//
// systemd-analyze comes with Debian's systemd package, which scripts/test.sh
// installs when it is missing. Without it the test fails in CI and is
// skipped elsewhere.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is not on PATH; scripts/test.sh installs Debian's systemd package")
		}
		t.Skip("skipped: systemd-analyze is not on PATH (apt-get install --no-install-recommends systemd)")
	}
	if hartdBin == "" {
		t.Fatal("TestMain built no hartd binary")
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(unit), "\n"+unitExec+"\n"); n != 1 {
		t.Fatalf("the unit has %d lines %q, want 1", n, unitExec)
	}
	copyText := strings.Replace(string(unit), "\n"+unitExec+"\n", "\nExecStart="+hartdBin+" serve\n", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "hartd.service")
	if err := os.WriteFile(path, []byte(copyText), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	var complaints []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "hartd.service") {
			complaints = append(complaints, line)
		}
	}
	if len(complaints) > 0 {
		t.Fatalf("systemd-analyze verify warns about the unit:\n%s", strings.Join(complaints, "\n"))
	}
	if len(out) > 0 {
		t.Logf("systemd-analyze verify, about other units:\n%s", out)
	}
}

// unitSettings returns the unit's Key=Value lines; keys may repeat.
func unitSettings(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = append(out[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The unit and the environment example agree with the binary: every
// variable of the example is a flag of serve, the unit gives hartd time to
// finish calls and close the store, and the settings the brief requires
// are there.
func TestDeployFilesMatchServe(t *testing.T) {
	u := unitSettings(t)
	for k, want := range map[string]string{
		"User": "hartd", "EnvironmentFile": "/etc/hartd/env", "ExecStart": "/usr/local/bin/hartd serve",
		"ProtectSystem": "strict", "NoNewPrivileges": "yes", "ReadWritePaths": "/var/lib/hartd",
		"StateDirectory": "hartd", "Restart": "on-failure", "KillSignal": "SIGTERM",
	} {
		if got := u[k]; len(got) != 1 || got[0] != want {
			t.Errorf("unit %s = %v, want %q", k, got, want)
		}
	}
	stop, err := time.ParseDuration(strings.Join(u["TimeoutStopSec"], ""))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	def, err := time.ParseDuration(newServeCmd().Flags().Lookup("shutdown-timeout").DefValue)
	if err != nil {
		t.Fatal(err)
	}
	if stop < def+10*time.Second {
		t.Errorf("TimeoutStopSec %v leaves under 10s past the default --shutdown-timeout %v to close the store", stop, def)
	}

	serve := newServeCmd().Flags()
	flags := map[string]string{}
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "#") // commented-out settings too
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "HARTD_") || strings.ContainsAny(name, " \t") {
			continue
		}
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "HARTD_"), "_", "-"))
		f := serve.Lookup(flag)
		if f == nil {
			t.Errorf("%s:%d: %s is no flag of serve", envExample, i+1, name)
			continue
		}
		if err := f.Value.Set(value); err != nil {
			t.Errorf("%s:%d: %s=%s: %v", envExample, i+1, name, value, err)
		}
		flags[flag] = value
	}
	for _, want := range []string{"data-dir", "listen", "metrics-listen", "log-format", "shutdown-timeout"} {
		if _, ok := flags[want]; !ok {
			t.Errorf("%s does not set %s", envExample, envName(want))
		}
	}
	if got := flags["shutdown-timeout"]; got != "" {
		if d, _ := time.ParseDuration(got); d+10*time.Second > stop {
			t.Errorf("the example's HARTD_SHUTDOWN_TIMEOUT=%s leaves under 10s before the unit's TimeoutStopSec %v", got, stop)
		}
	}
}
