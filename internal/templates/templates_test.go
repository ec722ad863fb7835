package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	ts, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"boil-water", "measles-exposure", "extreme-heat", "wildfire-smoke", "shelter-in-place",
		"han-health-alert", "han-health-advisory", "han-health-update", "han-info-service"}
	have := map[string]Template{}
	for _, tm := range ts {
		have[tm.ID] = tm
	}
	for _, id := range want {
		tm, ok := have[id]
		if !ok {
			t.Errorf("default template %s missing", id)
			continue
		}
		if tm.Texts["en"].Headline == "" || tm.Texts["es"].Headline == "" {
			t.Errorf("%s: wants English and Spanish texts", id)
		}
	}
	if have["han-health-advisory"].HANType != "Health Advisory" {
		t.Errorf("HAN advisory template carries HAN type %q", have["han-health-advisory"].HANType)
	}
}

func TestDataDirOverridesAndErrors(t *testing.T) {
	good := `id: boil-water
name: Our boil water notice
event: Boil Water Notice
category: [Health]
urgency: Immediate
severity: Moderate
certainty: Observed
expires_in: 24h
fields: [{name: system, label: System}]
texts:
  en: {headline: "Boil water: {{system}}", description: "Boil it."}
`
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"replaces default", good, ""},
		{"unknown field", strings.Replace(good, "{{system}}", "{{sistem}}", 1), "{{sistem}} is not a declared field"},
		{"bad severity", strings.Replace(good, "severity: Moderate", "severity: Awful", 1), "severity"},
		{"bad id", strings.Replace(good, "id: boil-water", "id: Boil Water", 1), `id "Boil Water"`},
		{"no expiry", strings.Replace(good, "expires_in: 24h\n", "", 1), "expires_in"},
		{"bad duration", strings.Replace(good, "expires_in: 24h", "expires_in: soon", 1), "not a duration"},
		{"unknown key", good + "colour: red\n", "colour"},
		{"no description", strings.Replace(good, `, description: "Boil it."`, "", 1), "headline and description are required"},
		{"bad HAN type", good + "han_type: Health Panic\n", "HAN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ours.yaml"), []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			ts, err := Load(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "ours.yaml") {
					t.Fatalf("Load = %v, want an error naming ours.yaml and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, tm := range ts {
				if tm.ID == "boil-water" && (tm.Name != "Our boil water notice" || tm.Source != "ours.yaml") {
					t.Fatalf("boil-water = %q from %s, want the data dir's", tm.Name, tm.Source)
				}
			}
		})
	}
}

func TestFill(t *testing.T) {
	tm := Template{Fields: []Field{{Name: "place", Label: "Place"}, {Name: "phone", Label: "Phone", Default: "211"}}}
	got := tm.Fill("At {{place}}, call {{ phone }}; {{other}}", map[string]string{"place": "Pike Place"})
	if want := "At Pike Place, call 211; {{other}}"; got != want {
		t.Fatalf("Fill = %q, want %q", got, want)
	}
	if got := tm.Fill("{{place}}", nil); got != "[Place]" {
		t.Fatalf("Fill with no value = %q, want the label in brackets", got)
	}
}
