package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/internal/inproc"
)

// runErr is run that also returns what was printed on stderr.
func runErr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestSubscriberImportChunks: the CLI sends the file in chunks, reports
// bad rows by their line in the file (not in the chunk), resumes from a
// line, and names the line to resume from when the server cannot be
// reached.
func TestSubscriberImportChunks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	file := filepath.Join(t.TempDir(), "residents.csv")
	csv := strings.Join([]string{
		"phone,lat,lon,language",
		"+12065550101,47.55,-122.31,en", // line 2
		"+12065550102,47.56,-122.30,es",
		"not-a-phone,47.56,-122.30,en", // line 4
		"+12065550103,47.57,-122.32,en",
		"+12065550104,47.58,-122.33,",   // line 6: language left empty
		"+12065550105,95,-122.33,en",    // line 7: latitude out of range
		"+12065550106,47.59,-122.34,en", // line 8
	}, "\n") + "\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	server, token := "--server="+h.HTTPURL(), "--token="+h.Config.HTTP.AdminToken
	out, errOut, err := runErr(t, "subscriber", "import", file, "--chunk=3", server, token)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "imported 5 residents, skipped 2 rows") {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{file + ":4: ", file + ":7: "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("progress drawn on a non-terminal: %q", errOut)
	}

	out, _, err = runErr(t, "subscriber", "import", file, "--from-line=6", "--json", server, token)
	if err != nil {
		t.Fatal(err)
	}
	var res api.Imported
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Imported != 2 || len(res.Rejected) != 1 || res.Rejected[0].Line != 7 {
		t.Errorf("--from-line 6 --json: %s (%v)", out, err)
	}

	_, _, err = runErr(t, "subscriber", "import", file, "--chunk=2", "--server=http://127.0.0.1:1", token)
	if err == nil || !strings.Contains(err.Error(), "--from-line 2") {
		t.Errorf("unreachable server: %v", err)
	}
}
