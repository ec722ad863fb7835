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
	text := render.SMS(a, "en-US", render.SMSOptions{
		Link:        "https://herald.example.org/v1/alerts/01J9ZK.cap",
		MaxSegments: 1,
	})
	n, enc := render.Segments(text)
	fmt.Println(text)
	fmt.Println(n, enc)
	// Output:
	// EXERCISE: Boil water notice
	// Seattle; Shoreline
	// Boil tap water for one...
	// - Seattle-King County Public Health
	// https://herald.example.org/v1/alerts/01J9ZK.cap
	// 1 GSM-7
}
