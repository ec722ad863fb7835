package keywords_test

import (
	"fmt"

	"github.com/herald-alerts/herald/internal/keywords"
)

// The inbound-SMS handler parses the body, acts on the command, and answers
// Twilio with the reply in the resident's language.
func Example() {
	texts, err := keywords.LoadTexts()
	if err != nil {
		panic(err)
	}
	vars := map[string]string{"sender": "King County Health", "contact": "206-296-4600"}

	cmd := keywords.Parse(" Stop! ")
	fmt.Println(cmd.Kind)
	// ... mark the number opted out, then:
	fmt.Printf("%s\n", keywords.TwiML(texts.Reply("es-MX", keywords.MsgStopped, vars)))

	cmd = keywords.Parse("join 98101-1234")
	fmt.Println(cmd.Kind, cmd.Arg)
	// Output:
	// stop
	// <?xml version="1.0" encoding="UTF-8"?><Response><Message>King County Health: baja confirmada, no le enviaremos otros mensajes. Responda INICIO para volver a suscribirse.</Message></Response>
	// join 98101
}
