import type { KubernetesObject } from '@kubernetes/client-node';

/** The Tenant custom resource (crds/tenants.tenantry.dev.yaml); the contract is BRIEF section 4. */
export const TENANT_GROUP = 'tenantry.dev';
export const TENANT_VERSION = 'v1alpha1';
export const TENANT_PLURAL = 'tenants';
export const PLAN_PLURAL = 'plans';
export const TENANT_API_VERSION = `${TENANT_GROUP}/${TENANT_VERSION}`;

export type ReclaimPolicy = 'Retain' | 'Delete';

export interface TenantSpec {
  displayName: string;
  plan: string;
  domains?: string[];
  admin?: { email?: string };
  database?: { reclaimPolicy?: ReclaimPolicy; adoptRetainedFrom?: string };
  suspended?: boolean;
}

export type ConditionType = 'DatabaseReady' | 'MigrationsApplied' | 'TopicsReady' | 'RoutesReady' | 'Ready';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export interface TenantStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  database?: { name: string; secretName: string; migrationsVersion?: string };
  topics?: string[];
  hosts?: string[];
  /** Seconds from creation to the first Ready=True, for onboarding reports. */
  readySeconds?: number;
  identity?: { signingKeySecret: string; keyId: string };
}

export interface Tenant extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string };
  spec: TenantSpec;
  status?: TenantStatus;
}

/** The Plan custom resource: data the platform engineer owns. */
export interface PlanSpec {
  displayName?: string;
  rateLimit: {
    requestsPerMinute: number;
    perUserRequestsPerMinute?: number;
    anonymousRequestsPerMinute?: number;
    perClientRequestsPerMinute?: number;
  };
  chat: { monthlyTokens: number };
  kafka: { partitions: number; retentionHours: number };
  postgres: { connectionLimit: number };
  /** Prices, read by the billing service; a plan without them is not offered for subscription. */
  billing?: PlanBilling;
}

/** A plan's prices: integer minor units of `currency` (cents for usd), per monthly period. */
export interface PlanBilling {
  basePriceMinor: number;
  currency: string;
  includedTokens: number;
  overagePerThousandTokensMinor: number;
}

export interface Plan extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string };
  spec: PlanSpec;
}
