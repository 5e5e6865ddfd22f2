// The backend a `backstage-cli new` app starts with, reduced to the catalog: the same
// config loading (--config files, ${VAR} substitution), database manager, health
// endpoints and HTTP router as any Backstage backend built on backend-defaults.
// Metrics as Backstage's observability guide sets them up: the OpenTelemetry
// Prometheus exporter on its default port, 9464, registered before the backend starts.
const { metrics } = require('@opentelemetry/api');
const { MeterProvider } = require('@opentelemetry/sdk-metrics');
const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');

metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PrometheusExporter()] }));

const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.start();
