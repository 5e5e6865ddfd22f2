package edge

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Where the layer's charts come from. Air-gapped and enterprise clusters pull from
// their own registry (one mirror for every chart: an OCI registry or a Helm repository)
// or from a chart vendored beside the stack (a directory or an archive, per chart).

// chartSource is chart at version from, in order: its local path, the mirror, the
// chart's public repository.
func chartSource(chart, publicRepo, version, mirror, path string) ChartSource {
	if mirror == "" {
		mirror = publicRepo
	}
	switch {
	case path != "":
		// The chart's own version is the one installed.
		return ChartSource{Chart: path}
	case strings.HasPrefix(mirror, "oci://"):
		return ChartSource{Chart: strings.TrimSuffix(mirror, "/") + "/" + chart, Version: version}
	}
	return ChartSource{Chart: chart, Repo: mirror, Version: version}
}

// CheckChartRepository accepts a mirror the provider can pull every chart from: an
// OCI registry (oci://host/path) or a Helm repository over HTTPS, without credentials
// in the address (they would sit in the state and the logs).
func CheckChartRepository(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL; use an OCI registry such as oci://registry.example.com/charts or a Helm repository such as https://charts.example.com", v)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials, which would be stored in the state and shown in logs; give the registry's credentials to the provider's environment (helm registry login, or the repository's config) instead", u.Redacted())
	}
	switch u.Scheme {
	case "oci", "https":
		return nil
	case "http":
		return fmt.Errorf("%q is plain HTTP: a chart fetched over it can be replaced on the way; serve the repository over HTTPS", v)
	}
	return fmt.Errorf("%q has scheme %s; use oci:// (a registry) or https:// (a Helm repository)", v, u.Scheme)
}

// CheckChartPath accepts a local chart: a directory with a Chart.yaml, or a packaged
// chart (.tgz), relative to the project directory (root) unless absolute.
func CheckChartPath(root, v string) error {
	if v == "" {
		return nil
	}
	path := v
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%q does not exist (paths are relative to the directory of Pulumi.yaml); vendor the chart there, e.g. helm pull --untar", v)
	case info.IsDir():
		if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err != nil {
			return fmt.Errorf("%q is a directory without a Chart.yaml; point at the chart's own directory", v)
		}
	case !strings.HasSuffix(v, ".tgz"):
		return fmt.Errorf("%q is neither a chart directory nor a packaged chart (.tgz)", v)
	}
	return nil
}
