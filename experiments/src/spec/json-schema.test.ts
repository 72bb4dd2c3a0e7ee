import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { cellJsonSchema, experimentJsonSchema, jsonSchemaAt } from "./json-schema.ts";
import { schemaFile } from "./write-schema.ts";

/**
 * experiment.schema.json as other tools read it: Ajv in strict mode compiles it (unique `$id`s,
 * no keyword a validator would ignore or refuse), every example validates against it, and a file
 * that breaks it is refused, with the field named.
 */
const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const exampleFiles = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
const readExample = (f: string): unknown => {
  const text = readFileSync(join(examples, f), "utf8");
  return f.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
};

const committed = JSON.parse(readFileSync(schemaFile, "utf8")) as object;
const strictAjv = () => new Ajv({ strict: true, allErrors: true });

/** Every value of `key` anywhere in a JSON document. */
const valuesOf = (v: unknown, key: string, out: unknown[] = []): unknown[] => {
  if (Array.isArray(v)) for (const x of v) valuesOf(x, key, out);
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(x);
      valuesOf(x, key, out);
    }
  return out;
};

describe("experiment.schema.json", () => {
  it("has unique $ids (effect's placeholder /schemas/unknown is gone) and no keyword beside a $ref", () => {
    const ids = valuesOf(committed, "$id");
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.stringify(committed)).not.toContain("/schemas/");
    const refs: Record<string, unknown>[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if ("$ref" in o) refs.push(o);
        Object.values(o).forEach(walk);
      }
    };
    walk(committed);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs)
      expect(Object.keys(r).filter((k) => !["$ref", "title", "description"].includes(k))).toEqual([]);
  });

  it("compiles with Ajv in strict mode (the committed file and each cell kind's schema)", () => {
    expect(() => strictAjv().compile(committed)).not.toThrow();
    for (const kind of ["circuit", "causal", "readout"] as const)
      expect(() => strictAjv().compile(cellJsonSchema(kind))).not.toThrow();
    expect(experimentJsonSchema()).toEqual(committed);
  });

  it(`every example (${exampleFiles.length} files) validates against it and carries a $schema line`, () => {
    const validate = strictAjv().compile(committed);
    expect(exampleFiles.length).toBeGreaterThan(20);
    for (const f of exampleFiles) {
      const ok = validate(readExample(f));
      expect({ file: f, errors: ok ? null : validate.errors }).toEqual({ file: f, errors: null });
      const text = readFileSync(join(examples, f), "utf8");
      expect(text).toMatch(
        f.endsWith(".json")
          ? /"\$schema": "\.\.\/experiment\.schema\.json"/
          : /^# yaml-language-server: \$schema=\.\.\/experiment\.schema\.json$/m,
      );
    }
  });

  it("refuses what the effect Schema refuses: an unknown method, a non-integer count, a stray field", () => {
    const validate = strictAjv().compile(committed);
    const eap = readExample("eap.yaml") as Record<string, unknown>;
    expect(validate(eap)).toBe(true);
    expect(validate({ ...eap, method: { _tag: "no-such-method" } })).toBe(false);
    expect(validate({ ...eap, task: { n: 2.5 } })).toBe(false);
    expect(validate({ ...eap, task: { n: 0 } })).toBe(false); // positive: the constraint beside Int holds
    expect(validate({ ...eap, methd: { _tag: "eap" } })).toBe(false);
    expect(validate({ ...eap, kind: "readout" })).toBe(false);
  });
});

describe("jsonSchemaAt: a field's schema by dotted path", () => {
  const types = (kind: "circuit" | "causal" | "readout", path: string) =>
    jsonSchemaAt(cellJsonSchema(kind), path.split(".")).map((n) => n.type ?? "any");

  it("follows $refs, unions (each branch with the field) and records", () => {
    expect(types("circuit", "method.tau")).toEqual(["number"]); // only ACDC has tau
    expect(types("circuit", "method.steps")).toEqual(["integer", "integer"]); // both EAP-IGs
    expect(types("circuit", "selection.n")).toEqual(["integer", "integer"]); // top-n and greedy
    expect(types("circuit", "seed")).toEqual(["integer"]);
    expect(types("circuit", "task.seed")).toEqual(["integer"]); // builtin task (a file task has none)
    expect(types("circuit", "ablation")).toEqual(["string"]);
    expect(types("circuit", "task.options.corrupt")).toEqual(["any"]); // a record of unknowns
    expect(types("circuit", "method.nope")).toEqual([]);
    expect(types("causal", "method.rank").every((t) => t === "integer")).toBe(true);
    expect(types("readout", "runtime.threads")).toEqual(["integer"]);
  });
});
