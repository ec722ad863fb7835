package cap_test

import (
	"fmt"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func Example() {
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>PHSKC-2026-0007</identifier>
  <sender>alerts@publichealth.herald.example</sender>
  <sent>2026-11-25T18:00:00Z</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <info>
    <category>Health</category>
    <event>Measles exposure</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <area>
      <areaDesc>Central Library, Seattle</areaDesc>
      <polygon>47.607,-122.333 47.607,-122.332 47.606,-122.332 47.606,-122.334</polygon>
    </area>
  </info>
</alert>`)

	alert, err := cap.Parse(doc)
	if err != nil {
		fmt.Println("not a CAP 1.2 alert:", err)
		return
	}
	fmt.Println(alert.Identifier, alert.InfoFor("en-US").Event)
	for _, p := range alert.Validate() {
		fmt.Printf("%s: %s\n", p.Path, p.Message)
	}
	// Output:
	// PHSKC-2026-0007 Measles exposure
	// alert/sent: time "2026-11-25T18:00:00Z": CAP does not allow "Z"; write UTC as -00:00 or +00:00
	// alert/references: required when msgType is Update
	// alert/info[0]/area[0]/polygon[0]: polygon is not closed: first point 47.607,-122.333 differs from last 47.606,-122.334
}
