package geo_test

import (
	"fmt"
	"log"

	"github.com/herald-alerts/herald/geo"
	"github.com/paulmach/orb"
)

func Example() {
	regions, err := geo.Load(geo.DefaultSources())
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range regions.Locate(orb.Point{-122.3321, 47.6062}) { // lon, lat
		fmt.Println("Seattle is in", g.ID, g.Name)
	}

	// A CAP <area>: a circle "47.6062,-122.3321 30" and a geocode.
	shape, err := regions.Compile(geo.Area{
		Circles:  []geo.Circle{{Center: orb.Point{-122.3321, 47.6062}, RadiusKm: 30}},
		Geocodes: []geo.Geocode{{Name: "SAME", Value: "053061"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range regions.Overlapping(shape) {
		fmt.Println("alert for", g.Name)
	}

	residents := geo.NewPointIndex()
	residents.Put("alice", orb.Point{-122.30, 47.60})
	residents.Put("bob", orb.Point{-120.50, 46.60})
	residents.Within(shape, func(id string) bool {
		fmt.Println("send to", id)
		return true
	})
	// Output:
	// Seattle is in us-county-53033 King County, WA
	// alert for King County, WA
	// alert for Kitsap County, WA
	// alert for Pierce County, WA
	// alert for Snohomish County, WA
	// send to alice
}
