package render

import (
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func TestPrefix(t *testing.T) {
	tests := []struct {
		name, status, msgType, lang, want string
	}{
		{"actual alert has none", "Actual", "Alert", "en-US", ""},
		{"exercise", "Exercise", "Alert", "en-US", "EXERCISE:"},
		{"test", "Test", "Alert", "en-US", "TEST:"},
		{"update", "Actual", "Update", "en-US", "UPDATE:"},
		{"cancel", "Actual", "Cancel", "en-US", "CANCELLED:"},
		{"exercise update", "Exercise", "Update", "en-US", "EXERCISE UPDATE:"},
		{"spanish exercise", "Exercise", "Alert", "es-US", "SIMULACRO:"},
		{"spanish test", "Test", "Alert", "es", "PRUEBA:"},
		{"spanish update", "Actual", "Update", "es-MX", "ACTUALIZACIÓN:"},
		{"spanish exercise cancel", "Exercise", "Cancel", "es-US", "SIMULACRO CANCELADO:"},
		{"unknown language falls back to english", "Test", "Update", "fr-CA", "TEST UPDATE:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &cap.Alert{Status: cap.Status(tt.status), MsgType: cap.MsgType(tt.msgType)}
			if got := prefix(a, tt.lang); got != tt.want {
				t.Errorf("prefix = %q, want %q", got, tt.want)
			}
		})
	}
}
