import { type CoreV1Api, type CoreV1Event, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { TENANT_API_VERSION, type Tenant } from '@tenantry/tenant-api';

/**
 * Kubernetes Events for a Tenant, so `kubectl describe tenant` tells the story. Events of a
 * cluster-scoped object live in the `default` namespace (as client-go records them). Repeats of the
 * same reason and message are folded into one Event with a count, like client-go's correlator, so a
 * failing step retried with backoff does not flood etcd.
 */
const EVENT_NAMESPACE = 'default';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const COMPONENT = 'tenantry-operator';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(tenant: Tenant, type: EventType, reason: string, message: string): Promise<void>;
}

export function createEventRecorder(core: CoreV1Api, onError: (error: unknown) => void): EventRecorder {
  const recent = new Map<string, { name: string; count: number }>();
  return {
    async record(tenant, type, reason, message) {
      const key = `${tenant.metadata.uid}/${type}/${reason}/${message}`;
      const now = new Date();
      try {
        const seen = recent.get(key);
        if (seen) {
          seen.count++;
          await core.patchNamespacedEvent(
            { name: seen.name, namespace: EVENT_NAMESPACE, body: { count: seen.count, lastTimestamp: now } },
            mergePatch,
          );
          return;
        }
        const body: CoreV1Event = {
          metadata: { generateName: `${tenant.metadata.name}.`, namespace: EVENT_NAMESPACE },
          involvedObject: {
            apiVersion: TENANT_API_VERSION,
            kind: 'Tenant',
            name: tenant.metadata.name,
            uid: tenant.metadata.uid,
            resourceVersion: tenant.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
        };
        const created = await core.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body });
        if (recent.size > 5000) recent.clear();
        recent.set(key, { name: created.metadata?.name ?? '', count: 1 });
      } catch (error) {
        // An Event that cannot be written must not fail the reconcile it reports on.
        recent.delete(key);
        onError(error);
      }
    },
  };
}
