import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EdgeAblation } from "@patchbay/core/patching";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { formatJsonSchema } from "./json-schema.ts";
import { expandCells, loadExperiment } from "./load.ts";
import type { ExperimentFileError } from "./schema.ts";
import { schemaFile } from "./write-schema.ts";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "patchbay-spec-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const load = (p: string) => Effect.runSync(Effect.either(loadExperiment(p)));
const fails = (p: string): ExperimentFileError => {
  const r = load(p);
  if (Either.isRight(r)) throw new Error(`${p} was accepted`);
  expect(r.left._tag).toBe("ExperimentFileError");
  return r.left;
};
const cells = (p: string) => {
  const r = load(p);
  if (Either.isLeft(r)) throw new Error(r.left.message);
  return Effect.runSync(expandCells(r.right));
};

const base = `model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: eap }\n`;

describe("experiment files", () => {
  it("the committed JSON Schema is generated from the effect Schema (run experiments/src/spec/write-schema.ts)", () => {
    expect(readFileSync(schemaFile, "utf8")).toBe(formatJsonSchema());
  });

  it("every example validates, references the schema, and there is one per method (circuit, causal and readout) plus a sweep", () => {
    const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
    const methods = new Set<string>();
    let sweeps = 0;
    for (const f of files) {
      const text = readFileSync(join(examples, f), "utf8");
      expect(text).toMatch(
        f.endsWith(".json")
          ? /"\$schema": "\.\.\/experiment\.schema\.json"/
          : /^# yaml-language-server: \$schema=\.\.\/experiment\.schema\.json/,
      );
      const cs = cells(join(examples, f));
      for (const c of cs) methods.add(c.spec.method._tag);
      if (cs.length > 1) sweeps++;
      // circuit cells name a builtin model; causal cells use their task's own network (null)
      // (stories260K examples read ../shared beside the repository; they validate without it)
      for (const c of cs)
        if (c.spec.model !== null)
          expect(c.spec.model).toMatch(/^(builtin:|\.\.\/\.\.\/\.\.\/shared\/models\/)/);
    }
    expect([...methods].sort()).toEqual([
      "acdc",
      "attention",
      "attention-entropy",
      "das",
      "dla",
      "eap",
      "eap-ig-activations",
      "eap-ig-inputs",
      "erasure",
      "exact",
      "iia",
      "iia-sweep",
      "input-attribution",
      "logit-lens",
      "neurons",
      "patchscope",
      "probe",
      "sae",
      "sae-circuit",
      "steering",
      "tuned-lens",
    ]);
    expect(sweeps).toBeGreaterThanOrEqual(1);
  });

  it("YAML and JSON give the same cells; defaults are filled in and seeds resolved", () => {
    const y = cells(write("a.yaml", `${base}seeds: [3]\n`));
    const j = cells(
      write(
        "a.json",
        JSON.stringify({ model: "builtin:induction", task: { n: 8 }, method: { _tag: "eap" }, seeds: [3] }),
      ),
    );
    expect(y.map((c) => c.spec)).toEqual(j.map((c) => c.spec));
    expect(y[0]!.spec).toEqual({
      model: "builtin:induction",
      task: { kind: "builtin", builtin: "builtin:induction", n: 8, seed: 3, options: {} },
      method: { _tag: "eap" },
      ablation: "resample",
      metric: "logit-diff",
      granularity: "head",
      selection: null,
      evaluation: { curve: false, spearmanSample: 64, spearmanSeed: 3, truth: true },
      runtime: { threads: 1 },
      seed: 3,
    });
  });

  it("grid is a cartesian product (last key fastest), zip parallel lists, combined as grid × zip, × seeds", () => {
    const cs = cells(
      write(
        "s.yaml",
        `${base}seeds: [0, 1]\nsweep:\n  grid: { method.steps: [1, 2], task.n: [4, 8, 12] }\n  zip: { method._tag: [eap-ig-inputs, eap-ig-activations], evaluation.curve: [false, true] }\n`,
      ),
    );
    expect(cs.length).toBe(2 * 3 * 2 * 2);
    expect(cs[0]!.varying).toEqual({
      "method.steps": 1,
      "task.n": 4,
      "method._tag": "eap-ig-inputs",
      "evaluation.curve": false,
      seed: 0,
    });
    expect(cs[1]!.varying).toMatchObject({
      "method._tag": "eap-ig-activations",
      "evaluation.curve": true,
      "task.n": 4,
    });
    expect(cs[2]!.varying).toMatchObject({ "task.n": 8, "method.steps": 1 });
    expect(cs[6]!.varying).toMatchObject({ "method.steps": 2, "task.n": 4 });
    expect(cs[12]!.spec.seed).toBe(1);
    expect(cs[1]!.spec.method).toEqual({ _tag: "eap-ig-activations", steps: 1 });
    expect(new Set(cs.map((c) => c.specHash)).size).toBe(cs.length);
    // sweeping whole objects works too
    const m = cells(
      write("m.yaml", `${base}sweep: { grid: { method: [{ _tag: exact }, { _tag: acdc, tau: 1 }] } }\n`),
    );
    expect(m.map((c) => c.spec.method)).toEqual([
      { _tag: "exact" },
      { _tag: "acdc", tau: 1, order: "normal", seed: 0, absolute: false },
    ]);
  });

  it("errors name the file, the field path, what was expected and what was found", () => {
    const tau = fails(write("tau.yaml", `${base.replace("{ _tag: eap }", "{ _tag: acdc, tau: fast }")}`));
    expect(tau.file).toContain("tau.yaml");
    expect(tau.field).toBe("method.tau");
    expect(tau.expected).toBe("number");
    expect(tau.found).toContain('"fast"');
    expect(tau.message).toContain("tau.yaml: method.tau: expected number");

    const typo = fails(write("typo.yaml", `${base}ablaton: zero\n`));
    expect(typo.field).toBe("ablaton");
    expect(typo.expected).toContain("no such field");

    const abl = fails(write("abl.yaml", `${base}ablation: random\n`));
    expect(abl.field).toBe("ablation");
    // every allowed value, from the Schema's own list (not just the first union member)
    expect(abl.expected).toBe(`one of ${EdgeAblation.literals.join(", ")}`);
    expect(abl.found).toBe('"random"');

    const kind = fails(write("kind.yaml", `kind: nope\n${base}`));
    expect(kind.field).toBe("kind");
    expect(kind.expected).toBe("one of circuit, causal, readout (absent: circuit)");
    expect(kind.found).toBe('"nope"');

    const missing = fails(write("missing.yaml", `task: { n: 8 }\nmethod: { _tag: eap }\n`));
    expect(missing.field).toBe("model");

    const n = fails(write("n.yaml", `${base.replace("n: 8", "n: -2")}`));
    expect(n.field).toMatch(/^task/);

    const inSweep = fails(write("sw.yaml", `${base}sweep: { grid: { method._tag: [eap, magic] } }\n`));
    expect(inSweep.field).toContain("method._tag");
    expect(inSweep.field).toContain('method._tag="magic"');

    const zip = fails(write("zip.yaml", `${base}sweep: { zip: { task.n: [1, 2], task.seed: [1, 2, 3] } }\n`));
    expect(zip.field).toBe("sweep.zip.task.seed");
    expect(zip.expected).toContain("2 values");
    expect(zip.found).toBe("3 values");

    const empty = fails(write("empty.yaml", `${base}sweep: { grid: { task.n: [] } }\n`));
    expect(empty.field).toBe("sweep.grid.task.n");

    const reserved = fails(write("res.yaml", `${base}sweep: { grid: { outputs.results: [a, b] } }\n`));
    expect(reserved.field).toBe("sweep.grid.outputs.results");

    const syntax = fails(write("syntax.yaml", `model: builtin:induction\ntask: { n: 8\nmethod: x\n`));
    expect(syntax.expected).toBe("valid YAML");
    expect(syntax.file).toMatch(/syntax\.yaml:\d+:\d+/);

    const json = fails(write("bad.json", `{"model": `));
    expect(json.expected).toBe("valid JSON");

    const nofile = fails(join(dir, "nope.yaml"));
    expect(nofile.field).toBe("(file)");
    expect(nofile.found).toBe("ENOENT");
  });
});

describe("causal experiment files (kind: causal)", () => {
  it("decode with every default filled in; `kind: circuit` is the default and leaves circuit specs unchanged", () => {
    const [c] = cells(
      write(
        "c.yaml",
        "kind: causal\ntask: { builtin: induction }\nmethod: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [last] }\nseeds: [4]\n",
      ),
    );
    expect(c!.spec).toEqual({
      kind: "causal",
      model: null,
      task: { builtin: "induction", options: {}, family: null, n: 128, test: 64, heldOut: [], seed: 4 },
      method: {
        _tag: "das",
        variable: "Q",
        site: "blocks.1.resid_pre",
        positions: ["last"],
        rank: 1,
        parametrization: "cayley",
        steps: 200,
        lr: 1e-3,
        batchSize: 32,
        warmup: 0.1,
        controls: true,
      },
      runtime: { threads: 1 },
      seed: 4,
    });
    const plain = cells(write("p.yaml", base));
    const tagged = cells(write("t.yaml", `kind: circuit\n${base}`));
    expect(tagged.map((x) => x.specHash)).toEqual(plain.map((x) => x.specHash));
  });

  it("a circuit field in a causal file, or a causal method in a circuit file, is an error naming the field", () => {
    const r = load(
      write(
        "x.yaml",
        "kind: causal\ntask: { builtin: induction }\nmethod: { _tag: iia, alignment: query }\nablation: zero\n",
      ),
    );
    expect(Either.isLeft(r) && r.left.message).toMatch(/x.yaml: ablation/);
    const s = load(
      write(
        "y.yaml",
        "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: das, variable: Q, site: s, positions: [last] }\n",
      ),
    );
    expect(Either.isLeft(s) && s.left.message).toMatch(/y.yaml: method/);
  });
});
