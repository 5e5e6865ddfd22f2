// Command generate writes Pulumi.yaml and the settings table of docs/configuration.md
// from the key table in config/keys.go: `make generate`.
package main

import (
	"fmt"
	"os"

	"github.com/arhean/backstage-pulumi/config"
)

// settingsPage holds the generated settings table between its markers.
const settingsPage = "docs/configuration.md"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run() error {
	project, err := config.ProjectYAML()
	if err != nil {
		return err
	}
	if err := os.WriteFile("Pulumi.yaml", project, 0o644); err != nil {
		return err
	}
	page, err := os.ReadFile(settingsPage)
	if err != nil {
		return err
	}
	updated, err := config.ReplaceSettingsTable(string(page))
	if err != nil {
		return err
	}
	return os.WriteFile(settingsPage, []byte(updated), 0o644)
}
