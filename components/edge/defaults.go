package edge

// The edge's defaults and limits; the chart versions are pinned in package pins.
const (
	DefaultIngressControllerNamespace = "ingress-nginx"
	// MinCertManagerChartVersion is the oldest cert-manager release still supported
	// upstream when this program was written.
	MinCertManagerChartVersion = "v1.19.0"
	// MinEnvoyGatewayChartVersion is the release the layer's objects were written for.
	MinEnvoyGatewayChartVersion = "v1.9.0"
)
