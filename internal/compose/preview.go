package compose

import (
	"context"
	"slices"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/alertlog"
)

// PreviewerConfig is what a Previewer needs: the composers whose words it
// shows (Social nil when no account is configured).
type PreviewerConfig struct {
	SMS    *SMS
	Social *Social
	// Accounts are the social accounts configured (Mastodon, Bluesky).
	Accounts []string
}

// Previewer shows an officer, before sending, the exact words each
// channel would send, per language of the alert: the same composers as
// the dispatchers, so the preview cannot drift from what is sent.
type Previewer struct {
	PreviewerConfig
}

// NewPreviewer builds a Previewer.
func NewPreviewer(cfg PreviewerConfig) *Previewer { return &Previewer{PreviewerConfig: cfg} }

// Texts is what each channel sends readers of each of a's languages (a
// reader of any other language gets the first info's).
func (p *Previewer) Texts(ctx context.Context, rec *alertlog.Record, a *cap.Alert) []api.PreviewText {
	al := Alert{CAP: a, Record: rec}
	var langs []string
	for _, in := range a.Info {
		if l := in.Lang(); !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	if len(langs) == 0 {
		langs = []string{""}
	}
	out := []api.PreviewText{}
	if p.SMS != nil {
		for _, l := range langs {
			t := p.SMS.Text(ctx, al, l)
			out = append(out, api.PreviewText{Channel: string(channels.SMS), Language: l, Text: t.Text,
				Encoding: t.Encoding, Segments: t.Segments, Cut: t.Cut})
		}
	}
	if p.Social != nil {
		for _, account := range p.Accounts {
			limit, length := Limit(account)
			for _, post := range p.Social.Thread(al, account) {
				out = append(out, api.PreviewText{Channel: string(channels.Social), Account: account, Language: post.Lang, Text: post.Text,
					Characters: length(post.Text), Limit: limit, Cut: []string{}})
			}
		}
	}
	return out
}
