/**
 * The tenant's events topic, as the operator names and creates it (operators/tenant-operator
 * src/tenant/names.ts `topicNames`; a test keeps the two in step). Kept here rather than imported so
 * services do not depend on the operator.
 */
const TOPIC = /^tenantry\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.events$/;

/** Every tenant's events topic. */
export const TENANT_TOPICS: RegExp = /^tenantry\.[a-z0-9-]+\.events$/;

export function eventsTopic(tenant: string): string {
  return `tenantry.${tenant}.events`;
}

/** The tenant whose events topic `topic` is, or undefined when it is not a tenant events topic. */
export function tenantOfTopic(topic: string): string | undefined {
  return TOPIC.exec(topic)?.[1];
}
