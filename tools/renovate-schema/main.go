// Command renovate-schema validates renovate.json against the JSON schema that a pinned
// release of Renovate ships (its validator CLI needs Node 24; this validates offline
// with the schema alone): `make lint`.
//
//	renovate-schema SCHEMA CONFIG
package main

import (
	"fmt"
	"os"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: renovate-schema SCHEMA CONFIG")
		os.Exit(2)
	}
	if err := validate(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	fmt.Printf("%s: valid against %s\n", os.Args[2], os.Args[1])
}

func validate(schemaFile, configFile string) error {
	schemaDoc, err := readJSON(schemaFile)
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("renovate-schema.json", schemaDoc); err != nil {
		return err
	}
	schema, err := c.Compile("renovate-schema.json")
	if err != nil {
		return err
	}
	config, err := readJSON(configFile)
	if err != nil {
		return err
	}
	return schema.Validate(config)
}

func readJSON(file string) (any, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return jsonschema.UnmarshalJSON(f)
}
