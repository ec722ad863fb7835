package cap

import (
	"fmt"
	"strings"
)

// HANType is a CDC Health Alert Network message type, carried in an
// <info> as <parameter><valueName>HANType</valueName><value>Health
// Advisory</value></parameter>. Hospitals route alerts by it.
type HANType string

// The CDC HAN message types, most urgent first.
const (
	HANAlert    HANType = "Health Alert"    // conveys the highest level of importance; warrants immediate action or attention
	HANAdvisory HANType = "Health Advisory" // important information for a specific incident or situation; may not require immediate action
	HANUpdate   HANType = "Health Update"   // updated information regarding an incident or situation; unlikely to require immediate action
	HANInfo     HANType = "Info Service"    // passes on general public health information; unlikely to require immediate action
)

// HANTypes lists the HAN types, most urgent first.
var HANTypes = []HANType{HANAlert, HANAdvisory, HANUpdate, HANInfo}

// HANParameter is the <parameter> valueName that carries the HAN type.
const HANParameter = "HANType"

// ParseHANType reads a HAN type, ignoring case and surrounding space.
func ParseHANType(s string) (HANType, error) {
	for _, t := range HANTypes {
		if strings.EqualFold(strings.TrimSpace(s), string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%q is not a HAN type (%s, %s, %s or %s)", s, HANAlert, HANAdvisory, HANUpdate, HANInfo)
}

// HANType is the alert's HAN type: the first HANType parameter of its
// infos ("" when none has one). An unknown value is an error, with the
// parameter's path.
func (a *Alert) HANType() (HANType, error) {
	for i, in := range a.Info {
		for j, p := range in.Parameter {
			if p.ValueName != HANParameter {
				continue
			}
			t, err := ParseHANType(p.Value)
			if err != nil {
				return "", fmt.Errorf("alert/info[%d]/parameter[%d]/value: %w", i, j, err)
			}
			return t, nil
		}
	}
	return "", nil
}
