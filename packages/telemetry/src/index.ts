export { startTelemetry, type Telemetry, type TelemetryOptions } from './start-telemetry.ts';
export { activeTraceId, injectTraceHeaders, type OutgoingHeaders } from './trace-headers.ts';
export { ATTR_REQUEST_ID, TRACER_NAME, tracing } from './tracing-plugin.ts';
