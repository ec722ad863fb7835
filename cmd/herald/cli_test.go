package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/broadcaster/signing"
)

const capTestdata = "../../broadcaster/cap/testdata"

// run executes the herald command line with args and returns what it
// printed on stdout and its error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return -1
}

func TestCAPValidate(t *testing.T) {
	valid := filepath.Join(capTestdata, "boil_water.xml")
	missingScope := filepath.Join(capTestdata, "corpus", "google__cap-library__testdata__invalid.cap")
	atom := filepath.Join(capTestdata, "corpus", "google__cap-library__testdata__amber.atom")
	missing := filepath.Join(t.TempDir(), "missing.xml")

	// A copy of the valid alert with three problems.
	orig, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.NewReplacer(
		"<scope>Public</scope>", "",
		"<status>Actual</status>", "<status>Real</status>",
		"<urgency>Immediate</urgency>", "<urgency>Now</urgency>",
	).Replace(string(orig))
	threeProblems := filepath.Join(t.TempDir(), "three.xml")
	if err := os.WriteFile(threeProblems, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		files []string
		want  []string // lines, in order
		code  int      // 0: no error
	}{
		{name: "valid", files: []string{valid}, want: []string{valid + ": ok"}},
		{name: "missing scope", files: []string{missingScope}, want: []string{missingScope + ": alert/scope: required"}, code: 1},
		{
			name:  "every problem of a file",
			files: []string{threeProblems},
			want: []string{
				threeProblems + `: alert/status: "Real" is not one of Actual, Exercise, System, Test, Draft`,
				threeProblems + ": alert/scope: required",
				threeProblems + `: alert/info[0]/urgency: "Now" is not one of Immediate, Expected, Future, Past, Unknown`,
				threeProblems + `: alert/info[1]/urgency: "Now" is not one of Immediate, Expected, Future, Past, Unknown`,
			},
			code: 1,
		},
		{
			name:  "valid and invalid together",
			files: []string{valid, missingScope, valid},
			want:  []string{valid + ": ok", missingScope + ": alert/scope: required", valid + ": ok"},
			code:  1,
		},
		{name: "not CAP", files: []string{atom}, want: []string{atom + ": alert: cap: root element is <feed>"}, code: 1},
		{name: "missing file", files: []string{missing}, want: []string{missing + ": open " + missing}, code: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, append([]string{"cap", "validate"}, tc.files...)...)
			switch {
			case tc.code == 0 && err != nil:
				t.Errorf("error = %v, want none", err)
			case tc.code != 0 && exitCode(err) != tc.code:
				t.Errorf("error = %v, want exit code %d", err, tc.code)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d = %q, want %q", i, lines[i], want)
				}
			}
		})
	}

	t.Run("no file", func(t *testing.T) {
		if _, err := run(t, "cap", "validate"); err == nil || exitCode(err) != -1 {
			t.Errorf("error = %v, want a usage error", err)
		}
	})
}

func TestKeysGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jane.seed")
	out, err := run(t, "keys", "generate", "--out", path)
	if err != nil {
		t.Fatalf("keys generate: %v", err)
	}
	pub := strings.TrimSpace(out)
	if !nkeys.IsValidPublicUserKey(pub) || out != pub+"\n" {
		t.Fatalf("printed %q, want only a user public key", out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("seed file mode = %o, want 600", perm)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := signing.ParseSeed(seed)
	if err != nil {
		t.Fatalf("ParseSeed: %v", err)
	}
	if got, _ := kp.PublicKey(); got != pub {
		t.Errorf("seed's public key = %s, printed %s", got, pub)
	}

	t.Run("refuses to overwrite", func(t *testing.T) {
		out, err := run(t, "keys", "generate", "--out", path)
		if err == nil {
			t.Fatalf("second keys generate succeeded, printing %q", out)
		}
		if out != "" {
			t.Errorf("printed %q on failure", out)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, seed) {
			t.Error("the existing seed file was changed")
		}
	})
	t.Run("needs --out", func(t *testing.T) {
		if _, err := run(t, "keys", "generate"); err == nil || !strings.Contains(err.Error(), "--out") {
			t.Errorf("error = %v, want one naming --out", err)
		}
	})
	t.Run("two keys differ", func(t *testing.T) {
		out, err := run(t, "keys", "generate", "--out", filepath.Join(t.TempDir(), "other.seed"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) == pub {
			t.Error("two generated keys are the same")
		}
	})
}

func TestConfigPrintRedactsAdminToken(t *testing.T) {
	const token = "0123456789abcdef-very-secret-token"
	t.Setenv("HERALD_HTTP_ADMIN_TOKEN", token)
	out, err := run(t, "config", "print")
	if err != nil {
		t.Fatalf("config print: %v", err)
	}
	if strings.Contains(out, token) {
		t.Errorf("config print shows the admin token:\n%s", out)
	}
	if !strings.Contains(out, "admin_token: REDACTED") {
		t.Errorf("config print does not show admin_token: REDACTED:\n%s", out)
	}
}

func TestCAPValidateIPAWSProfile(t *testing.T) {
	file := filepath.Join(capTestdata, "boil_water.xml")
	out, err := run(t, "cap", "validate", "--profile", "ipaws", file)
	if err != nil {
		t.Fatalf("warnings changed the exit status: %v\n%s", err, out)
	}
	for _, want := range []string{file + ": warning: alert/code: IPAWS requires", "warning: alert/info[0]/parameter: no CMAMtext", file + ": ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "cap", "validate", "--profile", "eu-alert", file); err == nil {
		t.Error("an unknown profile was accepted")
	}
}
