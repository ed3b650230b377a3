package hartonomousv1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the Go code with buf and fails if
// it differs from what is committed. It needs buf, protoc-gen-go and
// protoc-gen-go-grpc on PATH at the versions the README names; without them
// it fails in CI and is skipped elsewhere.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	for _, tool := range []string{"buf", "protoc-gen-go", "protoc-gen-go-grpc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH; scripts/test.sh installs it", tool)
			}
			t.Skipf("skipped: %s is not on PATH (see the README, \"Regenerating the API\")", tool)
		}
	}
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("buf", "generate", "--output", out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, b)
	}
	for _, name := range []string{"hartonomous.pb.go", "hartonomous_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, "api/proto/hartonomous/v1", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `buf generate` and commit the result", name)
		}
	}
}
