package cap

import (
	"strings"
	"testing"
)

func TestHANType(t *testing.T) {
	param := func(v string) []NamedValue {
		return []NamedValue{{ValueName: "other", Value: "x"}, {ValueName: HANParameter, Value: v}}
	}
	tests := []struct {
		name  string
		infos []Info
		want  HANType
		err   string
	}{
		{"none", []Info{{}}, "", ""},
		{"advisory", []Info{{Parameter: param("Health Advisory")}}, HANAdvisory, ""},
		{"case and space", []Info{{Parameter: param("  health ALERT ")}}, HANAlert, ""},
		{"second info", []Info{{}, {Parameter: param("Info Service")}}, HANInfo, ""},
		{"unknown", []Info{{Parameter: param("Health Warning")}}, "", "alert/info[0]/parameter[1]/value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Alert{Info: tt.infos}
			got, err := a.HANType()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("HANType = %q, %v; want error at %s", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("HANType = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
