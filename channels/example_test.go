package channels_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-alerts/herald/channels"
)

// printer is the smallest Notifier: it "sends" by printing.
type printer struct{}

func (printer) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	fmt.Println("to", m.To+":", m.Text)
	return channels.Receipt{ProviderID: "p-1"}, nil
}

// An adapter implements Notifier; it only sends and classifies its errors.
func ExampleNotifier() {
	var n channels.Notifier = printer{}
	r, err := n.Send(context.Background(), channels.Message{Key: "a1.sms.r1", To: "+12065550101", Text: "Boil water before drinking"})
	fmt.Println(r.ProviderID, err)
	// Output:
	// to +12065550101: Boil water before drinking
	// p-1 <nil>
}

// The dispatcher branches on an adapter's error with Classify and
// errors.Is, never on provider codes.
func ExampleClassify() {
	throttled := channels.Retryable("http 429", 30*time.Second, errors.New("slow down"))
	stop := channels.Permanent("21610", fmt.Errorf("%w (the number sent STOP)", channels.ErrOptedOut))

	for _, err := range []error{throttled, stop} {
		permanent, after, code := channels.Classify(err)
		fmt.Println(code, permanent, after, errors.Is(err, channels.ErrOptedOut))
	}
	// Output:
	// http 429 false 30s false
	// 21610 true 0s true
}
