package tests

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the suite's Pulumi CLI runs a home of their own unless the caller chose
// one. Every CLI start writes a log into $PULUMI_HOME/logs and stats each log kept there
// (seven days by default) to rotate them: the suite's thousands of runs in the
// developer's ~/.pulumi made every later `pulumi` command on that machine 0.09 s slower
// (20,000 logs after a week of suites; 0.17 s against 0.08 s for `pulumi version`).
func TestMain(m *testing.M) {
	os.Exit(runWithPulumiHome(m))
}

func runWithPulumiHome(m *testing.M) int {
	if _, chosen := os.LookupEnv("PULUMI_HOME"); chosen {
		return m.Run()
	}
	home, err := os.MkdirTemp("", "backstage-tests-pulumi-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: a Pulumi home for the suite:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(home) }() // a temporary folder; the suite's result stands either way
	if err := os.Setenv("PULUMI_HOME", home); err != nil {
		fmt.Fprintln(os.Stderr, "tests: setting PULUMI_HOME:", err)
		return 1
	}
	return m.Run()
}
