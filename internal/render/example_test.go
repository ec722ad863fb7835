package render_test

import (
	"fmt"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/render"
)

func ExampleSMS() {
	a := &cap.Alert{
		Status:  cap.StatusExercise,
		MsgType: cap.MsgAlert,
		Info: []cap.Info{{
			Language:    "en-US",
			Event:       "Water contamination",
			Headline:    "Boil water notice",
			Instruction: "Boil tap water for one minute, then let it cool. Use bottled water for infant formula until the utility says the water is safe again.",
			SenderName:  "Seattle-King County Public Health",
			Area:        []cap.Area{{AreaDesc: "Seattle"}, {AreaDesc: "Shoreline"}},
		}},
	}
	// A one-segment budget: the sender goes first, then the area, then
	// the end of the instruction; the headline and the link stay whole.
	sms := render.RenderSMS(a, "en-US", render.SMSOptions{
		Link:         "https://herald.example.org/a/a01j9zk",
		GSM7Segments: 1,
	})
	fmt.Println(sms.Text)
	fmt.Println(sms.Segments, sms.Encoding, sms.Cut)
	// Output:
	// EXERCISE: Boil water notice
	// Boil tap water for one minute, then let it cool. Use bottled water for infant formula until...
	// https://herald.example.org/a/a01j9zk
	// 1 GSM-7 [sender area instruction]
}
