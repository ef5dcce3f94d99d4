/**
 * The charts' values.schema.json files are generated (chart-schemas.ts) from each chart's
 * values.schema.src.json and the shared fragments in charts/common/schema/. These tests keep the
 * committed files current and the sources free of copies, and pin the composition rules. What the
 * schemas accept is tested in charts.test.ts, with Helm.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  composeChartSchema,
  composeChartSchemas,
  FRAGMENTS_DIR,
  fragmentNames,
  isObject,
  type Json,
  type JsonObject,
  REGENERATE_COMMAND,
  readJson,
  resolveFor,
  SOURCE_FILE,
  schemaCharts,
} from './chart-schemas.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('generated values schemas', () => {
  test('every chart with a values.schema.json has a schema source', () => {
    const withSchema = readdirSync(join(REPO_ROOT, 'charts'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .filter((chart) => readdirSync(join(REPO_ROOT, 'charts', chart)).includes('values.schema.json'))
      .sort();
    expect(withSchema.length).toBeGreaterThan(0);
    expect(schemaCharts()).toEqual(withSchema);
  });

  test.for(schemaCharts())('%s: the committed values.schema.json is current', (chart) => {
    const committed = JSON.parse(
      readFileSync(join(REPO_ROOT, 'charts', chart, 'values.schema.json'), 'utf8'),
    );
    expect(
      committed,
      `charts/${chart}/values.schema.json is not what charts/${chart}/${SOURCE_FILE} and ${FRAGMENTS_DIR}/ generate: run ${REGENERATE_COMMAND}`,
    ).toEqual(composeChartSchema(chart).schema);
  });

  // Helm copies the umbrella's global block into every subchart, so each must accept the same one.
  test('every chart takes its global block from the global fragment, unchanged', () => {
    const global = resolveFor('any', `${FRAGMENTS_DIR}/global.json`).schema;
    for (const { chart, schema } of composeChartSchemas()) {
      expect((schema.properties as JsonObject | undefined)?.global, chart).toEqual(global);
    }
  });

  test('every fragment is used by some chart', () => {
    const used = new Set(composeChartSchemas().flatMap(({ fragments }) => fragments));
    expect(fragmentNames().filter((name) => !used.has(name))).toEqual([]);
  });

  // A source that pastes a block instead of referring to its fragment would drift from it unseen.
  test.for(schemaCharts())(
    '%s: the schema source copies no fragment, with or without its description',
    (chart) => {
      const withoutNotes = (node: Json): Json => {
        if (!isObject(node)) return node;
        const { description: _description, $comment: _comment, ...rest } = node;
        return rest;
      };
      const key = (node: Json) => JSON.stringify(canonical(withoutNotes(node)));
      // Blocks only (with properties or items): a bare leaf such as {"type": "string"} is no copy.
      const fragments = new Map(
        fragmentNames()
          .map((name) => ({ name, schema: resolveFor(chart, `${FRAGMENTS_DIR}/${name}.json`).schema }))
          .filter(({ schema }) => isObject(schema) && (schema.properties || schema.items))
          .map(({ name, schema }) => [key(schema), name]),
      );
      const copies: string[] = [];
      const walk = (node: Json, path: string) => {
        if (Array.isArray(node)) for (const [index, item] of node.entries()) walk(item, `${path}/${index}`);
        if (!isObject(node)) return;
        const copied = fragments.get(key(node));
        if (copied) copies.push(`${path} is fragment:${copied}`);
        for (const [name, value] of Object.entries(node)) walk(value, `${path}/${name}`);
      };
      walk(readJson(`charts/${chart}/${SOURCE_FILE}`), '');
      expect(copies).toEqual([]);
    },
  );
});

/** Keys sorted at every level, so that equal schemas stringify the same. */
function canonical(node: Json): Json {
  if (Array.isArray(node)) return node.map(canonical);
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.keys(node)
      .sort()
      .map((name) => [name, canonical(node[name] as Json)]),
  );
}

describe('composition rules', () => {
  /** A throwaway repository with the given files, for one composition. */
  function composeIn(files: Record<string, JsonObject>): JsonObject {
    const root = mkdtempSync(join(tmpdir(), 'tenantry-schemas-'));
    try {
      mkdirSync(join(root, FRAGMENTS_DIR), { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), JSON.stringify(content));
      }
      return composeChartSchema('demo', root).schema;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  const source = `charts/demo/${SOURCE_FILE}`;

  test('a fragment is deep-merged with the keys beside its $ref: objects by key, required joined, else replaced', () => {
    const schema = composeIn({
      [`${FRAGMENTS_DIR}/base.json`]: {
        $comment: 'dropped',
        type: 'object',
        description: 'Values of {{chart}}.',
        required: ['a'],
        properties: { a: { type: 'string', enum: ['x', 'y'] }, b: { $ref: 'fragment:leaf' } },
      },
      [`${FRAGMENTS_DIR}/leaf.json`]: { type: 'object', properties: { c: { type: 'integer', minimum: 1 } } },
      [source]: {
        $ref: 'fragment:base',
        required: ['b', 'a'],
        properties: {
          a: { enum: ['z'] },
          b: { properties: { c: { maximum: 9 } } },
          d: { $ref: 'fragment:leaf#/properties/c', description: 'A part of a fragment.' },
          e: { $ref: '#/properties/a' },
        },
      },
    });
    expect(schema).toEqual({
      $comment: expect.stringContaining(`${FRAGMENTS_DIR}/{base,leaf}.json`),
      type: 'object',
      description: 'Values of demo.',
      required: ['a', 'b'],
      properties: {
        a: { type: 'string', enum: ['z'] },
        b: { type: 'object', properties: { c: { type: 'integer', minimum: 1, maximum: 9 } } },
        d: { type: 'integer', minimum: 1, description: 'A part of a fragment.' },
        e: { $ref: '#/properties/a' },
      },
    });
  });

  const mistakes: { name: string; files: Record<string, JsonObject>; error: string }[] = [
    { name: 'a missing fragment', files: { [source]: { $ref: 'fragment:nope' } }, error: 'there is no' },
    {
      name: 'a cycle',
      files: {
        [`${FRAGMENTS_DIR}/loop.json`]: { $ref: 'fragment:loop' },
        [source]: { $ref: 'fragment:loop' },
      },
      error: 'a cycle',
    },
    {
      name: 'a pointer to nothing',
      files: {
        [`${FRAGMENTS_DIR}/leaf.json`]: { type: 'object' },
        [source]: { $ref: 'fragment:leaf#/properties/x' },
      },
      error: 'nothing at /properties/x',
    },
    {
      name: 'an unknown placeholder',
      files: { [source]: { description: 'The {{service}} chart.' } },
      error: 'unknown placeholder {{service}}',
    },
  ];
  test.for(mistakes)('$name is an error', ({ files, error }) => {
    expect(() => composeIn(files)).toThrow(error);
  });
});
