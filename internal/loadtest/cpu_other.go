//go:build !unix

package loadtest

import "time"

// cpuTime is not measured here: CPU figures print as 0.
func cpuTime() time.Duration { return 0 }
