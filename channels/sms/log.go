package sms

import (
	"context"
	"errors"
	"log/slog"
	"unicode/utf8"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/phone"
)

// Log is the `sms.provider: log` adapter: it sends nothing and logs what
// would have been sent, with the number redacted. Its receipts carry
// ProviderID "log-" + Message.Key. A nil Logger means slog.Default().
type Log struct {
	Logger *slog.Logger
}

var _ channels.Notifier = (*Log)(nil)

// Send logs m at Info level and returns a receipt. Like Twilio it refuses,
// permanently, a message without recipient or text.
func (l *Log) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if m.To == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("sms: message has no recipient"))
	}
	if m.Text == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("sms: message has no text"))
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "sms not sent (sms.provider: log)",
		slog.String("key", m.Key),
		slog.Any("to", phone.Number(m.To)),
		slog.Int("chars", utf8.RuneCountInString(m.Text)),
		slog.String("text", m.Text),
	)
	return channels.Receipt{ProviderID: "log-" + m.Key}, nil
}
