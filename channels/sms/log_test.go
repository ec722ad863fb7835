package sms

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"log/slog"

	"github.com/herald-alerts/herald/channels"
)

func TestLogSend(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(LogConfig{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	rec, err := l.Send(context.Background(), channels.Message{Key: "a1/sms/r9", To: "+15551234567", Text: "Shelter in place."})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ProviderID != "log-a1/sms/r9" {
		t.Errorf("ProviderID = %q", rec.ProviderID)
	}
	out := buf.String()
	if strings.Contains(out, "5551234567") || !strings.Contains(out, "+1******4567") {
		t.Errorf("log does not redact the number: %s", out)
	}
	if !strings.Contains(out, "sms.provider: log") || !strings.Contains(out, "Shelter in place.") {
		t.Errorf("log = %s", out)
	}
	if _, err := l.Send(context.Background(), channels.Message{Text: "x"}); err == nil {
		t.Error("Send without recipient succeeded")
	}
}
