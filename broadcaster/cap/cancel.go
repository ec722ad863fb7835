package cap

import "time"

// CancelOf builds a Cancel of orig sent at now: same sender, status and
// scope, a new identifier, <references> to the original, and its info
// blocks (so every channel can say, in every language, what is cancelled)
// without the original's instruction and description, which must not reach
// anyone again under "CANCELLED", and without its expiry (a Cancel is in
// force from its sent time, and an expiry before it would be invalid).
func CancelOf(orig *Alert, now time.Time) *Alert {
	c := *orig
	c.References = orig.Sender + "," + orig.Identifier + "," + orig.Sent
	c.Identifier = orig.Identifier + "-cancel-" + now.UTC().Format("20060102T150405")
	c.Sent = FormatTime(now)
	c.MsgType = MsgCancel
	c.Note = "Cancelled with herald alert cancel"
	c.Info = append([]Info(nil), orig.Info...)
	for i := range c.Info {
		c.Info[i].Expires, c.Info[i].Instruction, c.Info[i].Description = "", "", ""
	}
	return &c
}
