import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { expandCells, loadExperiment } from "../../spec/load.ts";
import type { ExperimentFileError } from "../../spec/schema.ts";
import type { ReadoutCellSpec } from "./spec.ts";

/** Readout experiment files: decoding fills the readouts specs' defaults; errors name file and field. */
const dir = mkdtempSync(join(tmpdir(), "patchbay-readout-spec-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const load = (p: string) => Effect.runSync(Effect.either(loadExperiment(p)));
const specs = (p: string): ReadoutCellSpec[] => {
  const r = load(p);
  if (Either.isLeft(r)) throw new Error(r.left.message);
  return Effect.runSync(expandCells(r.right)).map((c) => c.spec as ReadoutCellSpec);
};
const fails = (p: string): ExperimentFileError => {
  const r = load(p);
  if (Either.isRight(r)) throw new Error(`${p} was accepted`);
  expect(r.left._tag).toBe("ExperimentFileError");
  return r.left;
};
const head = "kind: readout\nmodel: builtin:induction\n";

describe("readout experiment files", () => {
  it("a probe cell: the probe's defaults filled, the builtin task resolved to the model, seeds to the cell's", () => {
    const [a, b] = specs(
      write(
        "probe.yaml",
        `${head}data: { task: { n: 4 } }\nmethod: { _tag: probe, site: blocks.0.resid_pre }\nseeds: [3, 4]\n`,
      ),
    );
    expect(a).toEqual({
      kind: "readout",
      model: "builtin:induction",
      data: { kind: "task", builtin: "builtin:induction", n: 4, seed: 3, options: {} },
      method: {
        _tag: "probe",
        site: "blocks.0.resid_pre",
        standardize: true,
        l2: 1e-3,
        heldOutFraction: 0.25,
        seed: 3, // the method's seed follows the cell's unless the file gives one
        maxIter: 200,
        tol: 1e-6,
        control: true,
        controlSampling: "uniform",
        chunkSize: 32,
      },
      runtime: { threads: 1 },
      seed: 3,
    });
    expect(b!.data).toMatchObject({ seed: 4 });
    expect(b!.method).toMatchObject({ seed: 4 });
    const [given] = specs(
      write(
        "given.yaml",
        `${head}data: { task: {} }\nmethod: { _tag: sae, site: x, train: { dictSize: 4, seed: 9 } }\nseeds: [3]\n`,
      ),
    );
    expect(given!.method).toMatchObject({ train: { seed: 9 } });
    const [nested] = specs(
      write(
        "nested.yaml",
        `${head}data: { example: prev-token }\nmethod: { _tag: erasure, probe: { site: x } }\nseeds: [5]\n`,
      ),
    );
    expect(nested!.method).toMatchObject({ probe: { seed: 5 } });
  });

  it("every data form and nested defaults: texts, built-in examples, SAE train defaults, neuron models", () => {
    const [t] = specs(
      write("texts.yaml", `${head}data: { texts: [a b, c d] }\nmethod: { _tag: logit-lens }\n`),
    );
    expect(t!.data).toEqual({ kind: "texts", texts: ["a b", "c d"] });
    expect(t!.method).toEqual({ _tag: "logit-lens", topK: 5, tablePrompt: 0 });
    const [e] = specs(
      write(
        "ex.yaml",
        `${head}data: { example: prev-token }\nmethod: { _tag: erasure, probe: { site: x } }\n`,
      ),
    );
    expect(e!.data).toEqual({ kind: "example", example: "prev-token", n: 64, seed: 0, options: {} });
    expect(e!.method).toMatchObject({
      _tag: "erasure",
      direction: "class-means",
      probe: { site: "x", l2: 1e-3 },
    });
    const [s] = specs(
      write(
        "sae.yaml",
        `${head}data: { task: {} }\nmethod: { _tag: sae, site: x, train: { dictSize: 8 } }\n`,
      ),
    );
    expect(s!.method).toMatchObject({
      _tag: "sae",
      positions: "all",
      evalFraction: 0.25,
      splice: true,
      train: { arch: "standard", dictSize: 8, l1: 1, steps: 1000, decoderNorm: "unit", normalize: true },
    });
    const [n] = specs(
      write(
        "n.yaml",
        `${head}data: { task: {} }\nmethod: { _tag: neurons, records: { site: x, index: 0 } }\n`,
      ),
    );
    expect(n!.method).toMatchObject({
      _tag: "neurons",
      records: { topK: 20, randomK: 20, window: 16 },
      score: { explainTop: 10, scoreTop: "rest" },
      models: { _tag: "rule-based" },
    });
  });

  it("sweeps over method fields give one cell each, with distinct ids", () => {
    const cs = specs(
      write(
        "sweep.yaml",
        `${head}data: { example: induction-steering }\nmethod: { _tag: steering, site: blocks.1.resid_post }\nsweep: { grid: { method.alphas: [[0, 1], [0, 2]], method.positions: [last, all] } }\n`,
      ),
    );
    expect(
      cs.map((c) => [
        c.method._tag === "steering" && c.method.alphas,
        c.method._tag === "steering" && c.method.positions,
      ]),
    ).toEqual([
      [[0, 1], "last"],
      [[0, 1], "all"],
      [[0, 2], "last"],
      [[0, 2], "all"],
    ]);
  });

  it("errors name the file and the field: an unknown method, a bad nested value, a missing site, an unknown dataset, an unknown field", () => {
    const unknown = fails(write("u.yaml", `${head}data: { task: {} }\nmethod: { _tag: lens }\n`));
    expect(unknown.message).toMatch(
      /u\.yaml: method\._tag: expected one of logit-lens, tuned-lens, .*attention-entropy, found "lens"/,
    );
    const bad = fails(
      write("b.yaml", `${head}data: { task: {} }\nmethod: { _tag: sae, site: x, train: { dictSize: 0 } }\n`),
    );
    expect(bad.message).toMatch(/b\.yaml: method\.train\.dictSize: expected a positive number.*found 0/);
    const missing = fails(write("m.yaml", `${head}data: { task: {} }\nmethod: { _tag: steering }\n`));
    expect(missing.message).toMatch(/m\.yaml: method\.site: expected a value \(required\)/);
    const ds = fails(write("d.yaml", `${head}data: { example: mnist }\nmethod: { _tag: attention }\n`));
    expect(ds.message).toMatch(
      /d\.yaml: data\.example: expected one of prev-token, induction-steering, happy-sad, found "mnist"/,
    );
    const extra = fails(write("x.yaml", `${head}data: { task: {} }\nmethod: { _tag: dla, layers: 2 }\n`));
    expect(extra.message).toMatch(/x\.yaml: method\.layers: expected no such field/);
    const sweep = fails(
      write(
        "s.yaml",
        `${head}data: { task: {} }\nmethod: { _tag: attention }\nsweep: { grid: { method.residualWeight: [0.5, 2] } }\n`,
      ),
    );
    expect(sweep.message).toMatch(
      /s\.yaml: method\.residualWeight \(in the sweep cell method\.residualWeight=2\)/,
    );
  });
});
