package cap

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse, Validate or Marshal panic,
// and that whatever parses survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	samples, _ := filepath.Glob("testdata/*.xml") // only fails on a bad pattern
	corpus, _ := filepath.Glob("testdata/corpus/*")
	for _, path := range append(samples, corpus...) {
		if filepath.Ext(path) == ".md" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Small documents with the constructs a round trip is most likely to
	// trip on, for the mutator to work from.
	f.Add([]byte(doc("<note> a <!--c--> &#xD;b&#9; <![CDATA[<&>]]> </note><code/><code>x</code>")))
	f.Add([]byte(doc(`<x:note xmlns:x="urn:example">y</x:note><info><area><polygon/><circle> 1,2 3 </circle></area></info>`)))
	f.Add([]byte(`<c:alert xmlns:c="urn:oasis:names:tc:emergency:cap:1.2"><c:identifier>i</c:identifier></c:alert>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			return
		}
		a.Validate()
		for i := range a.Info {
			a.InfoFor(a.Info[i].Language)
		}
		assertRoundTrip(t, a)
	})
}
