import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FORBIDDEN_KEYS } from "@patchbay/core/text";
import { Effect, Either } from "effect";
import fc from "fast-check";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { decodeExperiment, expandCells, loadExperiment, parseExperimentText } from "./load.ts";

/**
 * Experiment files come from other people. These tests hold the loader to: no file can write to
 * Object.prototype (or make anything run), and every forbidden key or tag is a typed error that
 * names the file and the field.
 */

const dir = mkdtempSync(join(tmpdir(), "patchbay-untrusted-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
const clean = prototypeKeys();
const probe = {} as Record<string, unknown>;
const unpolluted = () => {
  expect(prototypeKeys()).toEqual(clean);
  expect(probe.NODE_OPTIONS).toBeUndefined();
  expect(probe.polluted).toBeUndefined();
};

/** Load a document given as text (JSON or YAML by the name's extension) all the way to its cells. */
const loadText = (name: string, text: string) =>
  Effect.runSync(
    Effect.either(
      Effect.flatMap(parseExperimentText(text, name), (raw) =>
        Effect.flatMap(decodeExperiment(raw, name), (loaded) => expandCells(loaded)),
      ),
    ),
  );

const segment = fc.constantFrom(
  ...FORBIDDEN_KEYS,
  "NODE_OPTIONS",
  "polluted",
  "method",
  "tau",
  "task",
  "n",
  "options",
  "model",
);
const leaf = fc.oneof(fc.integer(), fc.string(), fc.constant("--import=data:text/javascript,0"));
/** a random document: the fields of a valid one plus random keys (forbidden ones among them) */
const doc = fc.record({
  extra: fc.dictionary(segment, fc.oneof(leaf, fc.dictionary(segment, leaf, { maxKeys: 3 })), { maxKeys: 3 }),
  sweep: fc.dictionary(
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join(".")),
    fc.array(leaf, { minLength: 1, maxLength: 2 }),
    { maxKeys: 2 },
  ),
  yaml: fc.boolean(),
});

/** JSON text with every key as given (JSON.stringify would drop nothing, but we build it by hand to keep `__proto__` an own key) */
const jsonText = (v: unknown): string => {
  if (typeof v !== "object" || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${jsonText((v as Record<string, unknown>)[k])}`)
    .join(",")}}`;
};

/** a plain object whose keys are own data properties, `__proto__` included */
const own = (entries: [string, unknown][]): Record<string, unknown> => {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
};

const hasForbidden = (v: unknown): boolean =>
  typeof v === "object" &&
  v !== null &&
  Object.keys(v).some((k) => FORBIDDEN_KEYS.has(k) || hasForbidden((v as Record<string, unknown>)[k]));

describe("untrusted experiment files", () => {
  it("property: no document (JSON or YAML, any keys, any sweep paths) adds a key to Object.prototype; forbidden keys and path segments are typed errors", () => {
    fc.assert(
      fc.property(doc, ({ extra, sweep, yaml }) => {
        const body = own([
          ["model", "builtin:induction"],
          ["task", own([["n", 4], ...Object.entries(extra)])],
          ["method", own([["_tag", "acdc"], ...Object.entries(extra)])],
          ["sweep", own([["grid", own(Object.entries(sweep))]])],
          ...Object.entries(extra),
        ]);
        const text = yaml ? YAML.stringify(JSON.parse(jsonText(body), (_, v) => v)) : jsonText(body);
        const r = loadText(yaml ? "doc.yaml" : "doc.json", text);
        unpolluted();
        const forbidden =
          hasForbidden(extra) ||
          Object.keys(sweep).some((p) => p.split(".").some((s) => FORBIDDEN_KEYS.has(s)));
        if (forbidden) {
          expect(Either.isLeft(r)).toBe(true);
          if (Either.isLeft(r)) {
            expect(r.left._tag).toBe("ExperimentFileError");
            expect(r.left.file).toMatch(/^doc\.(json|yaml)/);
            expect(r.left.expected).toMatch(/__proto__, constructor, prototype/);
          }
        }
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it("the published exploit: a sweep path through __proto__ into NODE_OPTIONS is refused before any model is built, and runs nothing", () => {
    const marker = join(dir, "pwned");
    const payload = `--import=data:text/javascript,import('node:fs').then(f=>f.writeFileSync(${JSON.stringify(marker)},'x'))`;
    const file = write(
      "exploit.json",
      JSON.stringify({
        model: "builtin:ioi",
        task: { n: 4 },
        method: { _tag: "eap" },
        sweep: { grid: { "__proto__.NODE_OPTIONS": [payload] } },
      }),
    );
    const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
    const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
    for (const args of [
      ["run", file, "--results", join(dir, "out")],
      ["validate", file, "--ids"],
    ]) {
      const r = spawnSync(tsx, [main, ...args], {
        encoding: "utf8",
        env: { ...process.env, PATCHBAY_CACHE: join(dir, "cache") },
      });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain("sweep.grid.__proto__.NODE_OPTIONS");
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(marker)).toBe(false);
    }
  });

  it("unknown YAML tags are typed errors with the line, not strings", () => {
    for (const [tag, line] of [
      ["!!js/function 'function () { return 1 }'", 3],
      ["!custom 3", 3],
      ["!!python/object/apply:os.system ['true']", 3],
      ["!!binary aGVsbG8=", 3],
    ] as const) {
      const p = write(
        "tags.yaml",
        `model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: acdc, tau: ${tag} }\n`,
      );
      const r = Effect.runSync(Effect.either(loadExperiment(p)));
      expect(Either.isLeft(r), tag).toBe(true);
      if (Either.isLeft(r)) {
        expect(r.left.file).toMatch(new RegExp(`tags\\.yaml:${line}:\\d+$`));
        expect(r.left.expected).toMatch(/YAML 1\.2 core tag/);
      }
    }
    // the core tags still work
    const ok = write(
      "core-tags.yaml",
      "model: !!str builtin:induction\ntask: { n: !!int 8 }\nmethod: { _tag: acdc, tau: !!float 0.5 }\n",
    );
    expect(Either.isRight(Effect.runSync(Effect.either(loadExperiment(ok))))).toBe(true);
  });

  it("a forbidden key in YAML is named with its line; an alias bomb is an error, not a hang", () => {
    const p = write(
      "proto.yaml",
      "model: builtin:induction\ntask:\n  n: 8\n  __proto__: { polluted: 1 }\nmethod: { _tag: eap }\n",
    );
    const r = Effect.runSync(Effect.either(loadExperiment(p)));
    expect(Either.isLeft(r) && r.left.file).toMatch(/proto\.yaml:4:3$/);
    expect(Either.isLeft(r) && r.left.field).toBe("__proto__");
    unpolluted();
    const lol = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      lol.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    const bomb = write("bomb.yaml", `${lol.join("\n")}\nmodel: builtin:induction\n`);
    const t0 = Date.now();
    const b = Effect.runSync(Effect.either(loadExperiment(bomb)));
    expect(Either.isLeft(b) && b.left.expected).toBe("valid YAML");
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
