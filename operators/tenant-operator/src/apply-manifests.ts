import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeMessage } from './kube-errors.ts';

/** The repository checkout this module runs from: `crds/` and `config/` are read relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRDS_DIR = join(REPO_ROOT, 'crds');
const DEFAULT_PLANS_FILE = join(REPO_ROOT, 'operators/tenant-operator/config/default-plans.yaml');

/** Field manager of everything Tenantry installs (CRDs, default plans, examples). */
export const FIELD_MANAGER = 'tenantry';

const ESTABLISHED_TIMEOUT_MS = 30_000;
const ESTABLISHED_POLL_MS = 200;

/** Every document of a multi-document YAML file, each checked to be a Kubernetes object. */
export function loadManifests(path: string): KubernetesObject[] {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`while reading ${path}: ${kubeMessage(error)}`, { cause: error });
  }
  const objects: KubernetesObject[] = [];
  for (const [index, document] of parseAllDocuments(source).entries()) {
    const [parseError] = document.errors;
    if (parseError) throw new Error(`while parsing ${path}: ${parseError.message}`, { cause: parseError });
    const value: unknown = document.toJS();
    // A trailing `---` or a document of comments only is not an object to apply.
    if (value === null || value === undefined) continue;
    if (!isKubernetesObject(value)) {
      throw new Error(
        `while parsing ${path}: document ${index + 1} is not a Kubernetes object (apiVersion, kind and metadata.name are required)`,
      );
    }
    objects.push(value);
  }
  return objects;
}

/**
 * Server-side applies each object, in order (a CRD or Namespace must exist before what it defines
 * or holds). Forced: the manifests are the source of truth for the fields they set, even when
 * someone edited them by hand. Objects are in wire form (as parsed from YAML or JSON), not
 * client-node model instances; so are the returned objects, as the API server stored them, except
 * that their metadata is a V1ObjectMeta (timestamps are Dates).
 */
export async function applyManifests(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  fieldManager: string,
): Promise<KubernetesObject[]> {
  const client = WireObjectApi.forConfig(kc);
  const applied: KubernetesObject[] = [];
  for (const object of objects) {
    try {
      applied.push(
        await client.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply),
      );
    } catch (error) {
      throw new Error(`while applying ${describe(object)}: ${kubeMessage(error)}`, { cause: error });
    }
  }
  return applied;
}

/**
 * KubernetesObjectApi that sends and returns objects in their wire form, as written in manifests.
 * The stock one maps objects of built-in kinds through client-node's generated models, whose
 * property names differ from the wire names in places (`_default`, `_enum`, `xKubernetesValidations`
 * in a CRD schema) and which drop the wire-named ones: a CRD applied from YAML would silently lose its
 * defaults, enums and CEL rules. Custom resources already take this generic path.
 */
class WireObjectApi extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): WireObjectApi {
    const client = kc.makeApiClient(WireObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  protected override async getSerializationType(): Promise<string> {
    return 'KubernetesObject';
  }
}

/**
 * Applies every `crds/*.yaml` and waits until the API server serves each CRD (Established), so
 * objects of the new kinds can be created right after. Idempotent.
 */
export async function installCrds(kc: KubeConfig): Promise<void> {
  const files = readdirSync(CRDS_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => join(CRDS_DIR, file));
  const crdNames: string[] = [];
  for (const file of files) {
    const objects = loadManifests(file);
    await withContext(`while applying ${relative(REPO_ROOT, file)}`, () =>
      applyManifests(kc, objects, FIELD_MANAGER),
    );
    crdNames.push(...objects.filter((o) => o.kind === 'CustomResourceDefinition').map(nameOf));
  }
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await Promise.all(crdNames.map((name) => waitUntilEstablished(api, name)));
}

/** Applies the default plans (free, pro, enterprise); the Plan CRD must be installed. */
export async function applyDefaultPlans(kc: KubeConfig): Promise<void> {
  const objects = loadManifests(DEFAULT_PLANS_FILE);
  await withContext(`while applying ${relative(REPO_ROOT, DEFAULT_PLANS_FILE)}`, () =>
    applyManifests(kc, objects, FIELD_MANAGER),
  );
}

async function waitUntilEstablished(api: ApiextensionsV1Api, name: string): Promise<void> {
  const deadline = Date.now() + ESTABLISHED_TIMEOUT_MS;
  for (;;) {
    const crd = await withContext(`while waiting for CustomResourceDefinition ${name}`, () =>
      api.readCustomResourceDefinition({ name }),
    );
    const conditions = crd.status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() >= deadline) {
      // The conditions say why, e.g. NamesAccepted=False when another CRD already has a name.
      const observed = conditions.map((c) =>
        [`${c.type}=${c.status}`, c.reason, c.message].filter(Boolean).join(' '),
      );
      throw new Error(
        `CustomResourceDefinition ${name} is not Established after ${ESTABLISHED_TIMEOUT_MS / 1000} s; conditions: ${observed.join('; ') || 'none'}`,
      );
    }
    await sleep(ESTABLISHED_POLL_MS);
  }
}

async function withContext<T>(context: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${context}: ${kubeMessage(error)}`, { cause: error });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKubernetesObject(value: unknown): value is KubernetesObject {
  return (
    isRecord(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isRecord(value.metadata) &&
    typeof value.metadata.name === 'string'
  );
}

function nameOf(object: KubernetesObject): string {
  return object.metadata?.name ?? '';
}

function describe(object: KubernetesObject): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind} ${namespace ? `${namespace}/` : ''}${nameOf(object)}`;
}
