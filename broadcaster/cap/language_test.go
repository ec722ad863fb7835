package cap

import "testing"

func TestInfoFor(t *testing.T) {
	multi := &Alert{Info: []Info{
		{Language: "fr-CA", Event: "fr-CA"},
		{Language: "es-US", Event: "es-US"},
		{Language: "", Event: "default en-US"},
		{Language: "es-MX", Event: "es-MX"},
		{Language: "sr-Latn", Event: "sr-Latn"},
	}}
	tests := []struct {
		name  string
		alert *Alert
		lang  string
		want  string // the Event of the info returned; "" for nil
	}{
		{"exact", multi, "es-MX", "es-MX"},
		{"exact ignores case", multi, "ES-mx", "es-MX"},
		{"primary subtag picks the first of that language", multi, "es", "es-US"},
		{"same primary, other region", multi, "es-AR", "es-US"},
		{"empty CAP language is en-US", multi, "en-US", "default en-US"},
		{"English reader gets the en-US default", multi, "en-GB", "default en-US"},
		{"script subtag", multi, "sr", "sr-Latn"},
		{"no match falls back to the first", multi, "de-DE", "fr-CA"},
		{"no preference falls back to the first", multi, "", "fr-CA"},
		{"no info", &Alert{}, "en-US", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.alert.InfoFor(tt.lang)
			switch {
			case got == nil && tt.want != "":
				t.Fatalf("InfoFor(%q) = nil, want %s", tt.lang, tt.want)
			case got != nil && got.Event != tt.want:
				t.Fatalf("InfoFor(%q) = %s, want %s", tt.lang, got.Event, tt.want)
			}
		})
	}
}

func TestLang(t *testing.T) {
	if got := (&Info{}).Lang(); got != "en-US" {
		t.Errorf("Lang() of an info without <language> = %q, want en-US", got)
	}
	if got := (&Info{Language: "es-US"}).Lang(); got != "es-US" {
		t.Errorf("Lang() = %q, want es-US", got)
	}
}
