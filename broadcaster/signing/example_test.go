package signing_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-alerts/herald/broadcaster/signing"
)

// An originator signs a submission; Herald verifies it. A changed body no
// longer verifies.
func ExampleSign() {
	seed, _, err := signing.GenerateSeed()
	if err != nil {
		panic(err)
	}
	kp, err := signing.ParseSeed(seed)
	if err != nil {
		panic(err)
	}
	body := []byte("<alert>...</alert>")
	now := time.Now()
	h, err := signing.Sign(kp, signing.ActionSubmit, now, body)
	if err != nil {
		panic(err)
	}

	// The signature travels as three headers.
	req, _ := http.NewRequest(http.MethodPost, "http://herald.example/v1/alerts", nil)
	h.Set(req.Header.Set)

	got := signing.FromGetter(req.Header.Get)
	_, err = signing.Verify(got, signing.ActionSubmit, body, now)
	fmt.Println("original:", err)
	_, err = signing.Verify(got, signing.ActionSubmit, []byte("<alert>changed</alert>"), now)
	fmt.Println("tampered:", errors.Is(err, signing.ErrBadSignature))
	// Output:
	// original: <nil>
	// tampered: true
}
