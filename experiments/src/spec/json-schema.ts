import { JSONSchema, Schema } from "effect";
import { KINDS, kindNamed } from "../kinds/index.ts";
import type { KindName } from "../results/envelope.ts";

/**
 * The JSON Schema of experiment files, generated from the effect Schema (the encoded side: what
 * is written in the file). Committed as experiments/experiment.schema.json (a test keeps it
 * current and compiles it with Ajv in strict mode; regenerate with
 * `npx tsx experiments/src/spec/write-schema.ts`), referenced by the examples for editors.
 */

/** A JSON Schema node, as effect's JSONSchema writes them (draft-07, `$ref`s into `$defs`). */
export type JsonSchemaNode = { readonly [key: string]: unknown };

const isNode = (v: unknown): v is JsonSchemaNode => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * effect's JSONSchema gives `Schema.Unknown` (and any, object, `{}`) a placeholder `$id`
 * ("/schemas/unknown") at every use, so one document holds the same `$id` several times, which
 * JSON Schema forbids (Ajv's strict mode refuses it). The placeholders name nothing and nothing
 * refers to them: they are dropped, leaving the schema that accepts anything.
 */
const dropPlaceholderIds = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(dropPlaceholderIds);
  if (!isNode(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    if (!(k === "$id" && typeof x === "string" && x.startsWith("/schemas/"))) out[k] = dropPlaceholderIds(x);
  return out;
};

const ANNOTATIONS = new Set(["$ref", "title", "description", "$comment", "default", "examples"]);

/**
 * effect writes a refinement of a named schema as `{"$ref": "#/$defs/Int", "exclusiveMinimum": 0}`;
 * in draft-07 the keywords beside a `$ref` are ignored (so the constraint would not hold for every
 * validator), and a numeric keyword without a `type` is a strict-mode error in Ajv. Such nodes get
 * the definition inlined: `{"type": "integer", "exclusiveMinimum": 0, …}`.
 */
const inlineConstrainedRefs = (v: unknown, defs: JsonSchemaNode, depth = 0): unknown => {
  if (Array.isArray(v)) return v.map((x) => inlineConstrainedRefs(x, defs, depth));
  if (!isNode(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === "$defs" ? x : inlineConstrainedRefs(x, defs, depth);
  const ref = out.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/") || depth > 16) return out;
  if (Object.keys(out).every((k) => ANNOTATIONS.has(k))) return out;
  const def = defs[ref.slice("#/$defs/".length)];
  if (!isNode(def)) return out;
  const { $ref: _, ...constraints } = out;
  return inlineConstrainedRefs({ ...def, ...constraints }, defs, depth + 1);
};

/** effect's JSON Schema of `schema`, made valid for strict validators (unique ids, no keywords beside `$ref`). */
const strictJsonSchema = <A, I, R>(schema: Schema.Schema<A, I, R>): JsonSchemaNode => {
  const made = dropPlaceholderIds(JSONSchema.make(schema)) as JsonSchemaNode;
  const defs = isNode(made.$defs) ? made.$defs : {};
  const fixed = inlineConstrainedRefs(made, defs) as Record<string, unknown>;
  if (isNode(made.$defs))
    fixed.$defs = Object.fromEntries(
      Object.entries(defs).map(([k, d]) => [k, inlineConstrainedRefs(d, defs)]),
    );
  return fixed;
};

/**
 * Any experiment file: the union of the kinds' forms (`kind` selects one; absent: circuit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { experimentJsonSchema } from "@patchbay/experiments";
 *
 * const schema = experimentJsonSchema() as { $schema?: string };
 * assert.match(schema.$schema ?? "", /json-schema/);
 * ```
 */
export const experimentJsonSchema = (): object =>
  strictJsonSchema(Schema.Union(...KINDS.map((k) => k.experiment)));

export const formatJsonSchema = (): string => `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;

export type CellKind = KindName;

const cellSchemas = new Map<CellKind, JsonSchemaNode>();

/** The JSON Schema of one cell of a kind (the experiment's fields with every sweep axis fixed, and `seed`). */
export const cellJsonSchema = (kind: CellKind): JsonSchemaNode => {
  let s = cellSchemas.get(kind);
  if (s === undefined) {
    s = strictJsonSchema(kindNamed(kind)!.cellFields);
    cellSchemas.set(kind, s);
  }
  return s;
};

/**
 * The alternatives a value at `path` (field names from `root`) may take: `$ref`s resolved,
 * `anyOf` / `oneOf` split into their branches, `allOf` merged (a refinement's base and its
 * constraints), records followed through `additionalProperties`, arrays through `items`. A branch
 * without the field is left out; a field no branch has gives [] (the schema does not know it).
 */
export const jsonSchemaAt = (root: JsonSchemaNode, path: readonly string[]): JsonSchemaNode[] => {
  const defs = isNode(root.$defs) ? root.$defs : {};
  const resolve = (n: JsonSchemaNode, depth: number): JsonSchemaNode[] => {
    if (depth > 32) return [n];
    const ref = n.$ref;
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
      const target = defs[ref.slice("#/$defs/".length)];
      const { $ref: _, ...rest } = n;
      return isNode(target) ? resolve({ ...target, ...rest }, depth + 1) : [rest];
    }
    const alternatives = Array.isArray(n.anyOf) ? n.anyOf : Array.isArray(n.oneOf) ? n.oneOf : null;
    if (alternatives !== null) {
      const { anyOf: _a, oneOf: _o, ...rest } = n;
      return alternatives.filter(isNode).flatMap((b) => resolve({ ...rest, ...b }, depth + 1));
    }
    if (Array.isArray(n.allOf)) {
      const { allOf, ...rest } = n;
      // each part narrows the same value: merge them (the first part gives the type)
      return allOf
        .filter(isNode)
        .reduce<JsonSchemaNode[]>(
          (acc, part) => acc.flatMap((a) => resolve(part, depth + 1).map((p) => ({ ...p, ...a }))),
          [rest],
        );
    }
    return [n];
  };
  let here = resolve(root, 0);
  for (const key of path) {
    here = here.flatMap((n) => {
      const props = isNode(n.properties) ? n.properties : {};
      const own = props[key];
      if (isNode(own)) return resolve(own, 0);
      if (isNode(n.additionalProperties)) return resolve(n.additionalProperties, 0);
      if (isNode(n.items) && /^\d+$/.test(key)) return resolve(n.items, 0);
      return [];
    });
  }
  return here;
};
