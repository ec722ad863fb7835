package main
import ("os";"testing";"time";"github.com/herald-alerts/herald/broadcaster/cap")
func TestScratch(t *testing.T){
 orig,_:=os.ReadFile("../../broadcaster/cap/testdata/boil_water.xml")
 b,err:=cancelOf(orig,time.Date(2026,12,1,0,0,0,0,time.UTC)); if err!=nil{t.Fatal(err)}
 c,_:=cap.Parse(b); t.Log(c.Validate())
}
