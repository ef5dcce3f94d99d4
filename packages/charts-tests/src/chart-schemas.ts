/**
 * Composes each chart's values.schema.json from its hand-written values.schema.src.json and the
 * shared fragments in charts/common/schema/.
 *
 * Helm validates values against the chart's own values.schema.json and does not load schemas from
 * other files, so every chart needs a complete one. The generated files are committed; charts.test.ts
 * composes them again in memory and fails when a committed one is not current. Regenerate with:
 *
 *     node --import tsx packages/charts-tests/src/chart-schemas.ts
 *
 * Source format (JSON Schema draft-07 plus one composition rule):
 * - `{"$ref": "fragment:<name>", ...}` stands for charts/common/schema/<name>.json, deep-merged with
 *   the sibling keys: objects merge key by key (a sibling wins), `required` lists are joined, any
 *   other value of a sibling replaces the fragment's. `fragment:<name>#/<pointer>` takes a part of
 *   a fragment. Fragments refer to fragments the same way. Any other `$ref` (such as
 *   `#/properties/global`) is left as written for Helm to resolve within the generated file.
 * - `{{chart}}` in a string is the chart's name, so a fragment can name the chart it lands in.
 * - `$comment` keys are notes for the source's readers and are dropped; the generated file starts
 *   with its own `$comment` saying what it was generated from.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where the shared fragments live: the common library chart already owns the shared helpers. */
export const FRAGMENTS_DIR = 'charts/common/schema';
/** A chart's hand-written source, next to the values.schema.json generated from it. */
export const SOURCE_FILE = 'values.schema.src.json';
export const REGENERATE_COMMAND = 'node --import tsx packages/charts-tests/src/chart-schemas.ts';
const FRAGMENT_REF = 'fragment:';

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON of a repository file. */
export function readJson(path: string, root = REPO_ROOT): Json {
  try {
    return JSON.parse(readFileSync(join(root, path), 'utf8')) as Json;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** The charts with a schema source, by directory name. */
export function schemaCharts(root = REPO_ROOT): string[] {
  return readdirSync(join(root, 'charts'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'charts', entry.name, SOURCE_FILE)))
    .map((entry) => entry.name)
    .sort();
}

/** The names of the fragment files. */
export function fragmentNames(root = REPO_ROOT): string[] {
  return readdirSync(join(root, FRAGMENTS_DIR))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** `fragment` deep-merged with `override`: objects key by key, `required` joined, else `override`. */
export function merge(fragment: Json, override: Json): Json {
  if (!isObject(fragment) || !isObject(override)) return override;
  const merged: JsonObject = { ...fragment };
  for (const [key, value] of Object.entries(override)) {
    const base = fragment[key];
    if (key === 'required' && Array.isArray(base) && Array.isArray(value)) {
      merged[key] = [...new Set([...base, ...value])];
    } else {
      merged[key] = base === undefined ? value : merge(base, value);
    }
  }
  return merged;
}

function atPointer(document: Json, pointer: string, where: string): Json {
  let node: Json | undefined = document;
  for (const token of pointer.split('/').slice(1)) {
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isObject(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
    if (node === undefined) throw new Error(`${where}: nothing at ${pointer}`);
  }
  return node;
}

/** What resolving one chart's source needs and records. */
interface Resolution {
  root: string;
  fragments: string[];
  /** The fragments it used, directly or through other fragments. */
  used: Set<string>;
}

/** A node with every fragment reference replaced and every `$comment` dropped. */
function resolve(node: Json, where: string, context: Resolution, stack: readonly string[] = []): Json {
  if (Array.isArray(node))
    return node.map((item, index) => resolve(item, `${where}/${index}`, context, stack));
  if (!isObject(node)) return node;
  const { $ref, $comment: _note, ...rest } = node;
  const own: JsonObject = {};
  for (const [key, value] of Object.entries(rest))
    own[key] = resolve(value, `${where}/${key}`, context, stack);
  if (typeof $ref !== 'string' || !$ref.startsWith(FRAGMENT_REF)) {
    return $ref === undefined ? own : { $ref, ...own };
  }
  const [name = '', pointer = ''] = $ref.slice(FRAGMENT_REF.length).split('#');
  const file = `${FRAGMENTS_DIR}/${name}.json`;
  if (!context.fragments.includes(name)) throw new Error(`${where}: ${$ref}: there is no ${file}`);
  if (stack.includes(name)) throw new Error(`${where}: ${$ref}: a cycle (${[...stack, name].join(' → ')})`);
  context.used.add(name);
  const fragment = resolve(readJson(file, context.root), file, context, [...stack, name]);
  return merge(atPointer(fragment, pointer, `${where}: ${$ref}`), own);
}

/** `{{chart}}` replaced by the chart's name in every string; any other `{{...}}` is a mistake. */
function substitute(node: Json, chart: string, where: string): Json {
  if (typeof node === 'string') {
    const text = node.replaceAll('{{chart}}', chart);
    const unknown = text.match(/\{\{[^}]*\}\}/);
    if (unknown) throw new Error(`${where}: unknown placeholder ${unknown[0]} (only {{chart}} is known)`);
    return text;
  }
  if (Array.isArray(node)) return node.map((item) => substitute(item, chart, where));
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, substitute(value, chart, where)]),
  );
}

/** A source file (a chart's or a fragment), resolved for a chart, and the fragments it used. */
export function resolveFor(chart: string, path: string, root = REPO_ROOT): { schema: Json; used: string[] } {
  const context: Resolution = { root, fragments: fragmentNames(root), used: new Set() };
  const schema = substitute(resolve(readJson(path, root), path, context), chart, path);
  return { schema, used: [...context.used].sort() };
}

export interface ComposedSchema {
  chart: string;
  schema: JsonObject;
  /** The fragments it is made of, directly or through other fragments. */
  fragments: string[];
}

/** One chart's complete values.schema.json, from its source and the fragments. */
export function composeChartSchema(chart: string, root = REPO_ROOT): ComposedSchema {
  const sourcePath = `charts/${chart}/${SOURCE_FILE}`;
  const { schema: resolved, used } = resolveFor(chart, sourcePath, root);
  if (!isObject(resolved)) throw new Error(`${sourcePath}: not a JSON object`);
  const from = used.length ? ` and ${FRAGMENTS_DIR}/{${used.join(',')}}.json` : '';
  const schema: JsonObject = {
    $comment: `Generated from ${sourcePath}${from} by \`${REGENERATE_COMMAND}\`; edit those, not this file.`,
    ...resolved,
  };
  return { chart, schema, fragments: used };
}

export function composeChartSchemas(root = REPO_ROOT): ComposedSchema[] {
  return schemaCharts(root).map((chart) => composeChartSchema(chart, root));
}

/** Writes every chart's values.schema.json, formatted by biome as `biome check` expects. */
function writeChartSchemas(root = REPO_ROOT): void {
  const written = composeChartSchemas(root).map(({ chart, schema }) => {
    const path = join(root, 'charts', chart, 'values.schema.json');
    writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
    return path;
  });
  const biome = spawnSync(join(root, 'node_modules/.bin/biome'), ['format', '--write', ...written], {
    stdio: 'inherit',
  });
  if (biome.status !== 0) throw new Error(`biome format exited with ${biome.status ?? biome.signal}`);
  process.stdout.write(`${written.map((path) => `wrote ${path}`).join('\n')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) writeChartSchemas();
