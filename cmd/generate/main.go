// Command generate writes Pulumi.yaml and the README's settings table from the key
// table in config/keys.go: `make generate`.
package main

import (
	"fmt"
	"os"

	"github.com/arhean/backstage-pulumi/config"
)

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
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return err
	}
	updated, err := config.ReplaceSettingsTable(string(readme))
	if err != nil {
		return err
	}
	return os.WriteFile("README.md", []byte(updated), 0o644)
}
