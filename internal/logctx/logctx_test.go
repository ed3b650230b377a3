package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(b)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerAddsContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "engine")
	ctx := With(context.Background(), slog.String("request_id", "r1"))
	ctx = With(ctx, slog.Int("attempt", 2))

	log.InfoContext(ctx, "with context", "model", "m")
	log.Info("without context")
	log.InfoContext(context.Background(), "empty context")
	log.WithGroup("g").InfoContext(ctx, "grouped")

	got := lines(t, &buf)
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4", len(got))
	}
	if got[0]["request_id"] != "r1" || got[0]["attempt"] != float64(2) || got[0]["model"] != "m" || got[0]["component"] != "engine" {
		t.Errorf("line with context: %v", got[0])
	}
	for _, l := range got[1:3] {
		if _, ok := l["request_id"]; ok {
			t.Errorf("line without attributes in its context has a request_id: %v", l)
		}
	}
	if g, _ := got[3]["g"].(map[string]any); g["request_id"] != "r1" {
		t.Errorf("grouped line: %v", got[3])
	}
}

func TestWithKeepsParent(t *testing.T) {
	parent := With(context.Background(), slog.String("a", "1"))
	child := With(parent, slog.String("b", "2"))
	if n := len(Attrs(parent)); n != 1 {
		t.Errorf("parent has %d attrs after With on it, want 1", n)
	}
	if a := Attrs(child); len(a) != 2 || a[0].Key != "a" || a[1].Key != "b" {
		t.Errorf("child attrs %v", a)
	}
	if With(parent) != parent {
		t.Error("With without attrs made a new context")
	}
	if Attrs(context.Background()) != nil {
		t.Error("attrs of an empty context")
	}
}
