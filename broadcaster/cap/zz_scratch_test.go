package cap

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestScratch(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/data/cap/files/*/*")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		a, err := Parse(data)
		if err != nil {
			t.Logf("%s: ERR %v", filepath.Base(f), err)
			continue
		}
		ps := a.Validate()
		out, err := Marshal(a)
		if err != nil { t.Errorf("marshal %v", err) }
		b, err := Parse(out)
		if err != nil || !reflect.DeepEqual(a, b) { t.Errorf("%s: roundtrip %v", f, err) }
		t.Logf("%s: %d infos; problems: %v", filepath.Base(f), len(a.Info), ps.Err())
	}
}
