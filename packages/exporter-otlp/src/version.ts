/** Package name, used as the instrumentation scope of cost log records. */
export const EXPORTER_NAME = '@costspan/exporter-otlp';
/** Package version; a test keeps it equal to package.json. */
export const EXPORTER_VERSION = '0.1.0';
