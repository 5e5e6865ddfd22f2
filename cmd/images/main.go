// Command images prints the images this repository publishes, as the build matrix of
// .github/workflows/images.yml: for each pinned PostgreSQL major, the pinned official
// image and the name pins.PgBackRestImage gives it once pgBackRest is added
// (images/postgres-pgbackrest). The pins stay in components/pins, read here, not copied.
package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/arhean/backstage-pulumi/components/pins"
)

type image struct {
	Major      int    `json:"major"`
	Base       string `json:"base"`
	Image      string `json:"image"`
	PgBackRest string `json:"pgbackrest"`
}

func images() []image {
	var out []image
	for _, major := range slices.Sorted(maps.Keys(pins.PostgresImages)) {
		out = append(out, image{Major: major, Base: pins.PostgresImages[major], Image: pins.PgBackRestImage(major), PgBackRest: pins.PgBackRestVersion})
	}
	return out
}

func main() {
	if err := json.NewEncoder(os.Stdout).Encode(images()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
