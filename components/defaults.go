package components

// The values a component uses when its args leave a field out, and the limits it
// accepts. The stack's key table (config/keys.go) defaults to the same constants and
// checks the same limits, so a library user and a stack user get one behaviour.
//
// Renovate bumps the pinned versions here (renovate.json): keep each on a line of its
// own. Tests compare against these constants, never against the literal values.
const (
	DefaultIngressNginxChartVersion = "4.15.1"  // the final release: ingress-nginx is retired upstream
	DefaultCertManagerChartVersion  = "v1.21.2" // 1.19 or later: older releases are out of support
	// One pinned image per PostgreSQL major: Renovate moves each within its major only.
	DefaultPostgres14Image = "postgres:14.19"
	DefaultPostgres15Image = "postgres:15.14"
	DefaultPostgres16Image = "postgres:16.10"
	DefaultPostgres17Image = "postgres:17.6"
	DefaultPostgres18Image = "postgres:18.1"
	DefaultInitImage       = "busybox:1.36"
)

// appName names the app in every place where the default is simply "backstage".
const appName = "backstage"

const (
	DefaultNamespace                  = appName
	DefaultPostgresUser               = appName
	DefaultReplicas                   = 2
	DefaultMaxUnavailable             = "0"
	DefaultMaxSurge                   = "1"
	DefaultHealthCheckPath            = "/healthcheck"
	DefaultIngressClassName           = "nginx"
	DefaultIngressControllerNamespace = "ingress-nginx"
	DefaultRateLimitRPS               = 20
	DefaultStorageSize                = "8Gi"
	DefaultSharedBuffers              = "256MB"
	DefaultMaxConnections             = 100
	DefaultProtectDatabase            = true
	DefaultTLS                        = true
	DefaultImagePullPolicy            = "Always"
	DefaultRolloutStrategy            = "RollingUpdate"
	DefaultMetricsPort                = 9464 // the OpenTelemetry Prometheus exporter's port
	// DefaultPostgresMajorVersion is for new stacks; existing ones pin the major they run.
	DefaultPostgresMajorVersion = 18
	DefaultBackupSchedule       = "17 3 * * *" // daily, off the hour
	DefaultBackupRetention      = 7
	DefaultBackupSize           = "8Gi"
)

// PostgresImages are the pinned images by major, PostgresEndOfLife the day each major's
// community support ends (postgresql.org/support/versioning).
var (
	PostgresImages = map[int]string{
		14: DefaultPostgres14Image, 15: DefaultPostgres15Image, 16: DefaultPostgres16Image,
		17: DefaultPostgres17Image, 18: DefaultPostgres18Image,
	}
	PostgresEndOfLife = map[int]string{
		14: "2026-11-12", 15: "2027-11-11", 16: "2028-11-09", 17: "2029-11-08", 18: "2030-11-14",
	}
)

// Oldest and newest majors the program runs.
const (
	MinPostgresMajorVersion = 14
	MaxPostgresMajorVersion = 18
)

// DefaultAppConfigBaseFiles are the files the Backstage image's own command loads.
var DefaultAppConfigBaseFiles = []string{"app-config.yaml", "app-config.production.yaml"}

// Limits that both the components and the stack's checks enforce.
const (
	// MinCertManagerChartVersion is the oldest cert-manager release still supported
	// upstream when this program was written.
	MinCertManagerChartVersion = "v1.19.0"
	MinReplicas                = 1
	MaxReplicas                = 20
	MaxStorageSize             = "16Ti"
	MinMaxConnections          = 10
	MaxMaxConnections          = 10000
	MinStorageSize             = "1Gi"
)

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// boolOr dereferences an optional bool, so that a field whose default is true can tell
// "left out" from false.
func boolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}
