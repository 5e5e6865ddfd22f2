package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arhean/backstage-pulumi/components/pins"
)

// Air-gapped clusters take the layer's charts from one mirror (an OCI registry or a
// Helm repository) or from charts vendored beside the stack.
func TestChartsComeFromTheMirrorOrALocalPath(t *testing.T) {
	t.Run("an OCI registry", func(t *testing.T) {
		rec := mustRun(t, loadStack(t, "prod").with("chartRepository", "oci://registry.example.com/charts/"))
		for chart, version := range map[string]string{"cert-manager": pins.CertManagerChartVersion, "ingress-nginx": pins.IngressNginxChartVersion} {
			inputs := rec.byName(t, "security-"+chart).Inputs
			assert.Equal(t, "oci://registry.example.com/charts/"+chart, str(inputs, "chart"))
			assert.Equal(t, version, str(inputs, "version"))
			assert.True(t, get(inputs, "repositoryOpts").IsNull(), "an OCI chart names its registry in its reference")
		}
	})
	t.Run("a Helm repository", func(t *testing.T) {
		rec := mustRun(t, loadStack(t, "prod").with("chartRepository", "https://charts.example.com"))
		inputs := rec.byName(t, "security-cert-manager").Inputs
		assert.Equal(t, "cert-manager", str(inputs, "chart"))
		assert.Equal(t, "https://charts.example.com", str(inputs, "repositoryOpts", "repo"))
	})
	t.Run("a local chart", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: cert-manager\nversion: v1.21.2\n"), 0o600))
		rec := mustRun(t, loadStack(t, "prod").with("certManagerChartPath", dir))
		inputs := rec.byName(t, "security-cert-manager").Inputs
		assert.Equal(t, dir, str(inputs, "chart"))
		assert.True(t, get(inputs, "version").IsNull(), "the local chart's own version")
		assert.True(t, get(inputs, "repositoryOpts").IsNull())
		nginx := rec.byName(t, "security-ingress-nginx").Inputs
		assert.Equal(t, "https://kubernetes.github.io/ingress-nginx", str(nginx, "repositoryOpts", "repo"), "the other chart keeps its repository")
	})
}

func TestChartSourcesThatCannotWorkAreRefused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: x\nversion: 1.0.0\n"), 0o600))
	for _, tc := range []struct {
		name, key, value, want string
		also                   map[string]string
	}{
		{"credentials in the address", "chartRepository", "https://user:secret@charts.example.com",
			`backstage:chartRepository: "https://user:xxxxx@charts.example.com" carries credentials`, nil},
		{"plain HTTP", "chartRepository", "http://charts.example.com", "is plain HTTP", nil},
		{"another scheme", "chartRepository", "s3://charts", "has scheme s3; use oci://", nil},
		{"no host", "chartRepository", "charts.example.com", "is not a URL", nil},
		{"a missing chart", "certManagerChartPath", "vendor/charts/missing", `backstage:certManagerChartPath: "vendor/charts/missing" does not exist`, nil},
		{"a directory without a chart", "ingressNginxChartPath", t.TempDir(), "is a directory without a Chart.yaml", nil},
		{"a version beside the path", "certManagerChartPath", dir,
			"backstage:certManagerChartVersion: is set, but backstage:certManagerChartPath is set, so it does nothing", map[string]string{"certManagerChartVersion": "v1.20.0"}},
		{"a mirror no chart uses", "certManagerChartPath", dir, "backstage:chartRepository: is set, but every chart the layer installs has a local path",
			map[string]string{"ingressNginxChartPath": dir, "chartRepository": "oci://registry.example.com/charts"}},
		{"a source without the layer", "chartRepository", "oci://registry.example.com/charts",
			"backstage:chartRepository: is set, but backstage:installSecurityLayer is false", map[string]string{"installSecurityLayer": "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadStack(t, "prod").with(tc.key, tc.value)
			for k, v := range tc.also {
				cfg = cfg.with(k, v)
			}
			if tc.also["installSecurityLayer"] == "false" {
				cfg = loadStack(t, "dev").with("installSecurityLayer", "false").with(tc.key, tc.value)
			}
			_, err := run(t, cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
