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

// UpdateOf starts an Update of orig sent at now: the original's content
// with a new identifier and <references> to it, for the officer to change
// before sending. Expiry stays as it was; the officer sets a new one if the
// original's has passed.
func UpdateOf(orig *Alert, now time.Time) *Alert {
	u := *orig
	u.References = orig.Sender + "," + orig.Identifier + "," + orig.Sent
	u.Identifier = orig.Identifier + "-update-" + now.UTC().Format("20060102T150405")
	u.Sent = FormatTime(now)
	u.MsgType = MsgUpdate
	u.Note = ""
	u.Info = append([]Info(nil), orig.Info...)
	return &u
}
