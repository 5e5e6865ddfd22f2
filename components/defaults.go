package components

// Pinned versions and sizes the components use when their args leave them out; the
// stack configuration (config/defaults.go) and Pulumi.yaml default to the same values.
// Renovate bumps the versions here (see renovate.json): keep each on a line of its own.
const (
	DefaultIngressNginxChartVersion = "4.15.1" // the final release: ingress-nginx is retired upstream
	DefaultCertManagerChartVersion  = "v1.18.2"
	DefaultPostgresImage            = "postgres:14.19"
	DefaultInitImage                = "busybox:1.36"
	DefaultStorageSize              = "8Gi"
	DefaultSharedBuffers            = "256MB"
	DefaultMaxConnections           = 100
)
