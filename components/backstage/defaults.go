package backstage

// The values NewBackstage uses when its args leave a field out, and the limits it
// accepts. The stack's key table (config/keys*.go) defaults to the same constants and
// checks the same limits, so a library user and a stack user get one behaviour.
const (
	DefaultReplicas        = 2
	DefaultMaxUnavailable  = "0"
	DefaultMaxSurge        = "1"
	DefaultHealthCheckPath = "/healthcheck"
	DefaultRateLimitRPS    = 20
	DefaultTLS             = true
	DefaultImagePullPolicy = "Always"
	DefaultRolloutStrategy = "RollingUpdate"
	DefaultMetricsPort     = 9464 // the OpenTelemetry Prometheus exporter's port

	MinReplicas = 1
	MaxReplicas = 20
)

// DefaultAppConfigBaseFiles are the files the Backstage image's own command loads.
var DefaultAppConfigBaseFiles = []string{"app-config.yaml", "app-config.production.yaml"}
