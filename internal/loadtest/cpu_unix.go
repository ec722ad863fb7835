//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used so far:
// Herald, its NATS server and the bench's fakes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
