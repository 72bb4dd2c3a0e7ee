import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "@patchbay/core/errors";
import { Effect, Either, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { loadSae, SaeFileError, saeFromArtifact, saeToArtifact, saveSae } from "./artifact.ts";
import { evaluateSae } from "./metrics.ts";
import { maxCosines, plantedSparse } from "./planted.ts";
import { decode, encode } from "./sae.ts";
import { SaeTrainSpec } from "./spec.ts";
import { identitySae } from "./testing.ts";
import { trainSae } from "./train.ts";

const spec = (s: Record<string, unknown>) => Schema.decodeUnknownSync(SaeTrainSpec)(s);

// 24 unit directions in R^16, each active with p = 1/8 (3 per token on average), a ~ U[0.5, 1.5].
const d = 16;
const K = 24;
const n = 4000;
const planted = plantedSparse({ d, k: K, n, p: 3 / K, seed: 7 });
/** The first k tokens of the planted data. */
const first = (k: number) => planted.data.subarray(0, k * d);

describe("SAE on a planted sparse dataset", () => {
  it("standard SAE recovers every true direction (max cosine > 0.9), the loss decreases", () => {
    const { sae, history } = trainSae(
      "x",
      planted.data,
      n,
      d,
      spec({ dictSize: 48, l1: 1, steps: 2000, batchSize: 64, lr: 3e-3, seed: 1 }),
    );
    const cos = maxCosines(planted.directions, K, sae.decoder, sae.m, d);
    console.log(`standard: min max-cosine ${Math.min(...cos).toFixed(3)}`);
    expect(Math.min(...cos)).toBeGreaterThan(0.9);
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss / 3);
    expect(history.at(-1)!.recon).toBeLessThan(history[0]!.recon);
    const ev = evaluateSae(sae, planted.data, n);
    expect(ev.fvu).toBeLessThan(0.2);
    expect(ev.l0).toBeGreaterThan(2);
    expect(ev.l0).toBeLessThan(8);
    // decoder columns at unit norm ("unit" mode)
    for (let i = 0; i < sae.m; i++)
      expect(Math.hypot(...sae.decoder.subarray(i * d, (i + 1) * d))).toBeCloseTo(1, 12);
  });

  it("gated SAE trains: recovers the directions, loss and auxiliary loss decrease, L0 near the true 3", () => {
    const { sae, history } = trainSae(
      "x",
      planted.data,
      n,
      d,
      spec({ arch: "gated", dictSize: 48, l1: 3, steps: 4000, batchSize: 64, lr: 3e-3, seed: 1 }),
    );
    const cos = maxCosines(planted.directions, K, sae.decoder, sae.m, d);
    console.log(`gated: min max-cosine ${Math.min(...cos).toFixed(3)}`);
    expect(Math.min(...cos)).toBeGreaterThan(0.9);
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss / 3);
    expect(history.at(-1)!.aux).toBeLessThan(history[0]!.aux);
    const ev = evaluateSae(sae, planted.data, n);
    expect(ev.l0).toBeLessThan(4);
    expect(ev.fvu).toBeLessThan(0.15);
  });

  it("is deterministic given the seed, and the seed matters", () => {
    const s = spec({ dictSize: 12, steps: 50, batchSize: 32, seed: 5 });
    const a = trainSae("x", first(500), 500, d, s).sae;
    const b = trainSae("x", first(500), 500, d, s).sae;
    const c = trainSae("x", first(500), 500, d, { ...s, seed: 6 }).sae;
    expect(Array.from(a.decoder)).toEqual(Array.from(b.decoder));
    expect(Array.from(a.encoder)).toEqual(Array.from(b.encoder));
    expect(Array.from(a.decoder)).not.toEqual(Array.from(c.decoder));
  });

  it("rejects a gated SAE with free decoder norms, and non-finite activations", () => {
    expect(() =>
      trainSae("x", planted.data, n, d, {
        ...spec({ arch: "gated", dictSize: 8 }),
        decoderNorm: "weighted-l1",
      }),
    ).toThrow(InputError);
    const bad = planted.data.slice(0, 10 * d);
    bad[17] = Number.NaN;
    try {
      trainSae("x", bad, 10, d, spec({ dictSize: 8, steps: 1 }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).field).toBe("activations[1][1]");
    }
  });
});

describe("SAE evaluation and artifacts", () => {
  it("metrics match a naive computation; the identity SAE reconstructs exactly", () => {
    const id = identitySae("x", d);
    const ev = evaluateSae(id, first(200), 200);
    expect(ev.fvu).toBe(0);
    expect(ev.mse).toBe(0);
    const { sae } = trainSae(
      "x",
      first(500),
      500,
      d,
      spec({ dictSize: 12, steps: 100, batchSize: 32, seed: 2 }),
    );
    const x = planted.data.subarray(0, 300 * d);
    const f = encode(sae, x, 300);
    const xh = decode(sae, f, 300);
    let sse = 0;
    let sst = 0;
    let l0 = 0;
    let l1 = 0;
    const mean = Array.from({ length: d }, (_, j) => {
      let s = 0;
      for (let t = 0; t < 300; t++) s += x[t * d + j]!;
      return s / 300;
    });
    for (let k = 0; k < x.length; k++) {
      sse += (x[k]! - xh[k]!) ** 2;
      sst += (x[k]! - mean[k % d]!) ** 2;
    }
    for (const v of f) {
      l0 += v > 0 ? 1 : 0;
      l1 += v;
    }
    const dead = Array.from({ length: sae.m }, (_, i) =>
      [...Array(300).keys()].every((t) => f[t * sae.m + i] === 0),
    ).filter(Boolean).length;
    const e = evaluateSae(sae, x, 300);
    expect(e.fvu).toBeCloseTo(sse / sst, 12);
    expect(e.mse).toBeCloseTo(sse / x.length, 12);
    expect(e.l0).toBeCloseTo(l0 / 300, 12);
    expect(e.l1).toBeCloseTo(l1 / 300, 12);
    expect(e.dead).toBe(dead);
  });

  it("save → load is bit-exact (standard and gated); bad files give typed errors naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sae-"));
    for (const arch of ["standard", "gated"] as const) {
      const { sae } = trainSae(
        "blocks.0.resid_post",
        first(300),
        300,
        d,
        spec({ arch, dictSize: 10, steps: 20, batchSize: 16 }),
      );
      const p = join(dir, `${arch}.json`);
      await Effect.runPromise(saveSae(p, sae));
      const back = await Effect.runPromise(loadSae(p));
      expect(back).toEqual(sae);
      expect(Array.from(encode(back, planted.data.subarray(0, 5 * d), 5))).toEqual(
        Array.from(encode(sae, planted.data.subarray(0, 5 * d), 5)),
      );
    }
    const missing = await Effect.runPromise(Effect.flip(loadSae(join(dir, "nope.json"))));
    expect(missing).toBeInstanceOf(SaeFileError);
    expect(missing.field).toBe("(file)");
    const notJson = join(dir, "bad.json");
    writeFileSync(notJson, "{");
    expect((await Effect.runPromise(Effect.flip(loadSae(notJson)))).field).toBe("(json)");
    const good = saeToArtifact(identitySae("x", 3));
    const shortDecoder = { ...good, params: { ...good.params, decoder: good.params.decoder.slice(1) } };
    const r = saeFromArtifact(shortDecoder);
    expect(Either.isLeft(r) && r.left.field).toBe("params.decoder");
    const badArch = saeFromArtifact({ ...good, arch: "topk" });
    expect(Either.isLeft(badArch) && badArch.left.field).toBe("arch");
    const gatedNoMag = saeFromArtifact({ ...good, arch: "gated" });
    expect(Either.isLeft(gatedNoMag) && gatedNoMag.left.field).toBe("params.rMag");
  });
});
