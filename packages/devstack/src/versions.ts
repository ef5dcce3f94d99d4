/**
 * Pinned versions of the infrastructure devstack provisions. Each is cached under its version, so a
 * change here provisions the new one next to the old without touching it.
 */
export const versions = {
  /**
   * Kafka 3.9 is the last line that still speaks every protocol version kafkajs 2.2.4 uses: Kafka 4.0
   * removed old request versions (KIP-896) that kafkajs, unmaintained since 2023, still sends for
   * some APIs. 3.9 has production-ready KRaft, so no ZooKeeper is needed.
   */
  kafka: '3.9.2',
  scala: '2.13',
  /** Kafka 3.9 logs through slf4j 1.7 + reload4j, which it does not declare as runtime dependencies. */
  slf4jReload4j: '1.7.36',
  /** Current stable Kubernetes: CEL validation, ValidatingAdmissionPolicy and server-side apply are GA. */
  kubernetes: 'v1.36.3',
  /** The etcd minor that Kubernetes 1.36 is tested against. */
  etcd: 'v3.6.16',
  /** Last Helm 3 release, the line current charts and Tilt/skaffold integrations target. */
  helm: 'v3.21.4',
  /**
   * Newest stripe-mock the Go module proxy serves. Its spec (API 2026-08-26.dahlia) predates the
   * version stripe 23.2.0 sends (2026-11-18.endive); stripe-mock compares them only with
   * -strict-version-check, which devstack leaves off.
   */
  stripeMock: 'v0.203.0',
  /** Newest Mailpit the Go module proxy serves (it needs Go 1.26 to build). */
  mailpit: 'v1.33.1',
} as const;
