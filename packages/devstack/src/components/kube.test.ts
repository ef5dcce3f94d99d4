import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1CustomResourceDefinition,
  Watch,
} from '@kubernetes/client-node';
import { expect } from 'vitest';
import { test, uniqueName } from '../testing/index.ts';

function widgetCrd(group: string): V1CustomResourceDefinition {
  return {
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['size'],
                  properties: { size: { type: 'integer', minimum: 1 } },
                },
              },
            },
          },
        },
      ],
    },
  };
}

test('client-node creates a CRD, a custom object, and receives it through a watch', async ({
  kube,
  namespace,
}) => {
  const group = `${uniqueName('smoke')}.tenantry.dev`;
  const extensions = kube.makeApiClient(ApiextensionsV1Api);
  const objects = kube.makeApiClient(CustomObjectsApi);
  await extensions.createCustomResourceDefinition({ body: widgetCrd(group) });
  try {
    // A CRD serves its resource only once it is Established.
    await expect
      .poll(
        async () => {
          const crd = await extensions.readCustomResourceDefinition({ name: `widgets.${group}` });
          return crd.status?.conditions?.find((c) => c.type === 'Established')?.status;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe('True');

    const seen: string[] = [];
    let watchedSize: number | undefined;
    let resolveAdded: () => void = () => {};
    const added = new Promise<void>((resolve) => {
      resolveAdded = resolve;
    });
    // A new resource's watch cache answers 429 until it has initialised, and a watch can end at any
    // time: like an informer, restart it whenever it ends before the object was seen. A restarted
    // watch without a resourceVersion replays existing objects as ADDED, so nothing is missed.
    let abort: AbortController | undefined;
    let done = false;
    const startWatch = (): void => {
      if (done) return;
      new Watch(kube)
        .watch(
          `/apis/${group}/v1/namespaces/${namespace}/widgets`,
          {},
          (phase, object: KubernetesObject & { spec?: { size?: number } }) => {
            seen.push(`${phase} ${object.metadata?.name}`);
            watchedSize = object.spec?.size;
            if (phase === 'ADDED') resolveAdded();
          },
          () => setTimeout(startWatch, 200),
        )
        .then(
          (controller) => {
            abort = controller;
          },
          () => setTimeout(startWatch, 200),
        );
    };
    startWatch();
    await objects.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural: 'widgets',
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'first' }, spec: { size: 3 } },
    });
    await added;
    done = true;
    abort?.abort();
    expect(seen).toContain('ADDED first');
    expect(watchedSize).toBe(3);

    // The schema is enforced by the API server itself.
    await expect(
      objects.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural: 'widgets',
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
      }),
    ).rejects.toThrow(/spec.size/);
  } finally {
    await extensions.deleteCustomResourceDefinition({ name: `widgets.${group}` });
  }
});
