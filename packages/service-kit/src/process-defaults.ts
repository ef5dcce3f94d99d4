/** Every interface: in a pod, the kubelet and the gateway reach the pod IP. */
export const DEFAULT_HOST = '0.0.0.0';
/**
 * How long in-flight work gets to finish after a signal before the process exits anyway; below
 * Kubernetes' default grace period (30 s) so the exit is ours, logged, rather than a SIGKILL.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;
