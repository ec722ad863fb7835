package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clients rate-limits signed endpoints per client address. A client over
// its rate still gets through with a request whose signature verifies for
// a registered originator: a flood from a shared address (a hospital's
// NAT, an attacker next to an officer) must not lock the officer out, and
// checking a signature costs little.
type clients struct {
	rate  rate.Limit
	burst int

	mu   sync.Mutex
	seen map[string]*client
	last time.Time // of the last sweep of idle clients
}

type client struct {
	lim  *rate.Limiter
	used time.Time
}

// maxClients bounds the table; past it the idle are dropped at once.
const maxClients = 100_000

// clientIdle is how long an unseen client's bucket is kept.
const clientIdle = 10 * time.Minute

func newClients(perSecond float64, burst int) *clients {
	if perSecond <= 0 {
		return nil
	}
	return &clients{rate: rate.Limit(perSecond), burst: max(burst, 1), seen: map[string]*client{}}
}

// allow takes a token for the request's address; when there is none it
// says how long until there is.
func (c *clients) allow(r *http.Request, now time.Time) (ok bool, retryAfter time.Duration) {
	if c == nil {
		return true, 0
	}
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.last) > time.Minute || len(c.seen) >= maxClients {
		for k, v := range c.seen {
			if now.Sub(v.used) > clientIdle || len(c.seen) >= maxClients {
				delete(c.seen, k)
			}
		}
		c.last = now
	}
	cl := c.seen[addr]
	if cl == nil {
		cl = &client{lim: rate.NewLimiter(c.rate, c.burst)}
		c.seen[addr] = cl
	}
	cl.used = now
	if cl.lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration(float64(time.Second) / float64(c.rate))
	return false, wait
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, after time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(after.Seconds())))))
	writeProblem(w, http.StatusTooManyRequests, "Too many requests",
		"this address sent more unsigned or refused requests than intake allows; sign the request, or retry later", nil)
}
