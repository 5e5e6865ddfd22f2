package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// Every pinned major gets an image, built from its pinned official image and named as
// the program names it, so a Renovate bump of either pin publishes the name stacks pull.
func TestEveryPinnedMajorIsPublished(t *testing.T) {
	list := images()
	assert.Len(t, list, len(pins.PostgresImages))
	for _, img := range list {
		assert.Equal(t, pins.PostgresImages[img.Major], img.Base)
		assert.Equal(t, pins.PgBackRestImage(img.Major), img.Image)
		assert.True(t, strings.HasPrefix(img.Image, pins.PgBackRestRepository+":"+strings.TrimPrefix(img.Base, "postgres:")+"-"), img.Image)
		assert.True(t, strings.HasSuffix(img.Image, "-"+pins.PgBackRestVersion), img.Image)
	}
}
