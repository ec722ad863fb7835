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
// ProviderID "log-" + Message.Key.
type Log struct {
	logger *slog.Logger
}

// LogConfig configures the log adapter.
type LogConfig struct {
	// Logger receives the messages; nil means slog.Default().
	Logger *slog.Logger
}

// NewLog builds the log adapter.
func NewLog(cfg LogConfig) *Log {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Log{logger: cfg.Logger}
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
	l.logger.LogAttrs(ctx, slog.LevelInfo, "sms not sent (sms.provider: log)",
		slog.String("key", m.Key),
		slog.Any("to", phone.Number(m.To)),
		slog.Int("chars", utf8.RuneCountInString(m.Text)),
		slog.String("text", m.Text),
	)
	return channels.Receipt{ProviderID: "log-" + m.Key, Logged: true}, nil
}
