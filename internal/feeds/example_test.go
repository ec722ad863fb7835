package feeds_test

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/herald-alerts/herald/internal/feeds"
)

// A region's feed: fold the messages into threads (an Update replaces its
// alert's content under the same entry id), drop the expired, then render. The HTTP handler sends ETag and Last-Modified with
// the body and answers conditional requests with 304.
func Example() {
	now := time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)
	messages := []feeds.Message{
		{Live: true, Entry: feeds.Entry{
			ID: "a1", Title: "Boil water advisory", Updated: now.Add(-time.Hour),
			CAPURL: "https://herald.example/v1/alerts/a1.cap", MsgType: "Alert",
		}},
		{Live: true, References: []string{"a1"}, Entry: feeds.Entry{
			ID: "a2", Title: "Boil water advisory extended", Summary: "Boil tap water until Monday.",
			Updated: now.Add(-10 * time.Minute), Expires: now.Add(72 * time.Hour),
			CAPURL: "https://herald.example/v1/alerts/a2.cap", MsgType: "Update", Severity: "Severe",
		}},
	}
	entries := feeds.Active(feeds.Threads(messages), now)

	feed := feeds.Feed{
		Title:   "Herald alerts: King County",
		SelfURL: "https://herald.example/v1/feeds/us-county-53033.atom",
		Entries: entries,
	}
	if err := feeds.Render(os.Stdout, feed); err != nil {
		panic(err)
	}
	fmt.Println(feeds.ETag(feed))
	fmt.Println(feeds.LastModified(feed).Format(http.TimeFormat))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
	//   <id>https://herald.example/v1/feeds/us-county-53033.atom</id>
	//   <title>Herald alerts: King County</title>
	//   <updated>2025-03-01T12:50:00Z</updated>
	//   <link rel="self" type="application/atom+xml" href="https://herald.example/v1/feeds/us-county-53033.atom"></link>
	//   <author>
	//     <name>Herald</name>
	//   </author>
	//   <entry>
	//     <id>urn:uuid:f8295cf4-e303-5ffe-9840-ba07d4549976</id>
	//     <title>Boil water advisory extended</title>
	//     <updated>2025-03-01T12:50:00Z</updated>
	//     <summary>Boil tap water until Monday.</summary>
	//     <link rel="alternate" type="application/cap+xml" href="https://herald.example/v1/alerts/a2.cap"></link>
	//     <cap:expires>2025-03-04T13:00:00-00:00</cap:expires>
	//     <cap:msgType>Update</cap:msgType>
	//     <cap:severity>Severe</cap:severity>
	//   </entry>
	// </feed>
	// "57a793da9df3ed796513f343c5917ab6"
	// Sat, 01 Mar 2025 12:50:00 GMT
}
