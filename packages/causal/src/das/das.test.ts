import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { VariableAlignment } from "../alignment/schema.ts";
import { iia } from "../iia/iia.ts";
import { counterfactuals } from "../model/counterfactuals.ts";
import { linearToy } from "../zoo/linear.ts";
import { principalAngles } from "./rotation/index.ts";
import { das, rotationValues } from "./train.ts";
import { loadRotation, rotationArtifact, saveRotation } from "./artifact.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("causal-das-test", { threads: 1 }), f)));

// the linear toy (X and Y on planted planes); DAS learns X's plane at the residual stream
const toy = linearToy();
const D = toy.dModel;
const train = counterfactuals(toy.task.model, toy.task.families[0]!, { n: 128, seed: 1 });
const test = counterfactuals(toy.task.model, toy.task.families[0]!, { n: 64, seed: 2 });
const entry: VariableAlignment = {
  variable: "X",
  site: "blocks.0.resid_post",
  positions: ["last"],
  subspace: { rank: 2 },
};

describe("DAS on a linear toy network recovers the planted subspace", () => {
  for (const parametrization of ["cayley", "householder", "expm", "retraction"] as const) {
    it(`${parametrization}: IIA ≥ 0.95 on held-out pairs and the learned rows span the planted plane`, async () => {
      const r = await withCache((cache) =>
        Effect.gen(function* () {
          const fit = yield* das(cache, toy.model, toy.task, entry, train, {
            parametrization,
            rank: 2,
            steps: 300,
            lr: 0.05,
            batchSize: 32,
          });
          const score = yield* iia(cache, toy.model, toy.task, [entry], test, {
            rotations: { X: rotationValues(fit.learned) },
          });
          return { fit, score };
        }),
      );
      const angles = principalAngles(r.fit.learned.rotation, 2, Float64Array.from(toy.planted.X.data), 2, D);
      const first = r.fit.curve[0]!.loss;
      const last = r.fit.curve.at(-1)!.loss;
      console.log(
        `DAS ${parametrization}: loss ${first.toFixed(3)} → ${last.toFixed(3)}, IIA ${r.score.accuracy.toFixed(3)}, cos of principal angles ${[...angles.cosines].map((c) => c.toFixed(4)).join(", ")}`,
      );
      expect(last).toBeLessThan(first);
      expect(r.score.accuracy).toBeGreaterThanOrEqual(0.95);
      expect(Math.min(...angles.cosines)).toBeGreaterThan(0.99);
    });
  }
});

describe("Boundless DAS and rotation artifacts", () => {
  it("boundless: a learned sigmoid boundary (T annealed 50 → 0.1) finds a small subspace that carries X", async () => {
    const r = await withCache((cache) =>
      Effect.gen(function* () {
        // exponential annealing spends longer at low T than pyvene's linear one, so the rotation
        // concentrates X under a sharp mask and the size penalty can close the rest
        const fit = yield* das(cache, toy.model, toy.task, { ...entry, subspace: "full" }, train, {
          boundless: { sizePenalty: 0.1, lr: 0.02, temperature: { schedule: "exponential" } },
          steps: 300,
          lr: 0.05,
        });
        const score = yield* iia(cache, toy.model, toy.task, [{ ...entry, subspace: { rank: D } }], test, {
          rotations: { X: rotationValues(fit.learned) },
        });
        return { fit, score };
      }),
    );
    const size = r.fit.learned.mask!.reduce((a, b) => a + b, 0);
    const temps = r.fit.curve.map((c) => c.size);
    console.log(
      `boundless DAS: IIA ${r.score.accuracy.toFixed(3)}, size ${size.toFixed(2)}, bounds ${JSON.stringify(r.fit.learned.bounds)}`,
    );
    expect(r.fit.learned.rank).toBe(D);
    expect(temps.every((s) => s !== undefined)).toBe(true);
    expect(r.score.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(size).toBeGreaterThan(1.5);
    expect(size).toBeLessThan(4.5);
    // at T = 0.1 the mask is hard: every value within 0.05 of 0 or 1
    expect([...r.fit.learned.mask!].every((m) => m < 0.05 || m > 0.95)).toBe(true);
  });

  it("a saved rotation reloads bit-identically and re-evaluates to the same IIA; a tampered file names its field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-rotation-"));
    const file = join(dir, "X.rotation.json");
    const r = await withCache((cache) =>
      Effect.gen(function* () {
        const fit = yield* das(cache, toy.model, toy.task, entry, train, {
          parametrization: "householder",
          rank: 2,
          steps: 60,
          lr: 0.05,
        });
        const before = yield* iia(cache, toy.model, toy.task, [entry], test, {
          rotations: { X: rotationValues(fit.learned) },
        });
        yield* saveRotation(
          file,
          rotationArtifact(entry, toy.model.config.name, fit.learned, { iia: before.accuracy }),
        );
        const loaded = yield* loadRotation(file);
        const after = yield* iia(cache, toy.model, toy.task, [loaded.artifact.alignment], test, {
          rotations: { X: rotationValues(loaded.learned) },
        });
        return { fit, before, after, loaded };
      }),
    );
    expect([...r.loaded.learned.rotation]).toEqual([...r.fit.learned.rotation]);
    expect([...r.loaded.learned.theta]).toEqual([...r.fit.learned.theta]);
    expect(r.after.predicted).toEqual(r.before.predicted);
    expect(r.loaded.artifact.iia).toBe(r.before.accuracy);
    const doc = JSON.parse(readFileSync(file, "utf8"));
    doc.rotation[0] += 0.01;
    writeFileSync(file, JSON.stringify(doc));
    await expect(Effect.runPromise(loadRotation(file))).rejects.toThrow(
      /X.rotation.json: rotation: expected orthonormal rows/,
    );
    doc.theta = doc.theta.slice(1);
    writeFileSync(file, JSON.stringify(doc));
    await expect(Effect.runPromise(loadRotation(file))).rejects.toThrow(
      /theta: expected \d+ parameters \(householder\)/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
