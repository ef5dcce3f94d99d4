export { type GatewayConfig, loadGatewayConfig, NOT_DEPLOYED, upstreamsOf } from './config.ts';
export { GATEWAY_ERROR_CODES } from './error-codes.ts';
export {
  buildGateway,
  DEFAULT_FALLBACK_REQUESTS_PER_MINUTE,
  DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  type GatewayOptions,
} from './gateway.ts';
export {
  DEFAULT_UPSTREAMS,
  SERVICE_NAMES,
  type ServiceName,
  type Upstreams,
  upstreamVariable,
} from './upstreams.ts';
