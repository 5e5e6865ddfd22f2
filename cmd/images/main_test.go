package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// The workflow reads what this command prints: every field images.yml takes from
// matrix.image is one the list has, filled for every pinned major. A field renamed on
// either side would build nothing, or push an empty name, only on GitHub.
func TestTheWorkflowReadsWhatTheListHas(t *testing.T) {
	workflow, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "images.yml"))
	require.NoError(t, err)
	used := regexp.MustCompile(`matrix\.image\.(\w+)`).FindAllStringSubmatch(string(workflow), -1)
	require.NotEmpty(t, used, "images.yml builds from matrix.image")

	data, err := json.Marshal(images())
	require.NoError(t, err)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(data, &list))
	require.Len(t, list, len(pins.PostgresImages), "one image per pinned major")
	for _, entry := range list {
		for _, field := range used {
			assert.NotEmpty(t, entry[field[1]], "images.yml reads matrix.image.%s, which the list lacks or leaves empty: %v", field[1], entry)
		}
	}
}
