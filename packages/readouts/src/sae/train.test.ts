import { normals } from "@patchbay/core/model";
import { Schema } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeSae, type Sae } from "./sae.ts";
import { SaeTrainSpec } from "./spec.ts";
import { lossAndGrads, type SaeGrads } from "./train.ts";

/** A random SAE (seeded), with biases so that about half the features fire. */
const randomSae = (
  arch: "standard" | "gated",
  decoderNorm: "unit" | "weighted-l1",
  d: number,
  m: number,
  seed: number,
): Sae => {
  const z = (k: number, n: number, s = 1) => Array.from(normals(seed * 7 + k, n), (v) => v * s);
  return makeSae({
    arch,
    site: "x",
    d,
    m,
    decoderNorm,
    encoder: z(1, m * d, 0.5),
    bEnc: z(2, m, 0.3),
    rMag: z(3, m, 0.3),
    bMag: z(4, m, 0.3),
    decoder: z(5, m * d, 0.5),
    bDec: z(6, d, 0.2),
  });
};

const names = ["encoder", "bEnc", "rMag", "bMag", "decoder", "bDec"] as const;

/**
 * The loss written out naively, with the auxiliary term's decoder passed separately so that a
 * finite difference over the live parameters sees it frozen (the stop-gradient of the gated SAE).
 */
const naiveLoss = (
  s: Sae,
  x: Float64Array,
  B: number,
  lambda: number,
  frozenDec: Float64Array,
  frozenBDec: Float64Array,
): number => {
  const { d, m } = s;
  let total = 0;
  for (let t = 0; t < B; t++) {
    const u = Array.from({ length: d }, (_, j) => x[t * d + j]! - s.bDec[j]!);
    const a = Array.from({ length: m }, (_, i) =>
      u.reduce((acc, uj, j) => acc + s.encoder[i * d + j]! * uj, 0),
    );
    const norm = (dec: Float64Array, i: number) =>
      s.decoderNorm === "weighted-l1"
        ? Math.hypot(...Array.from({ length: d }, (_, j) => dec[i * d + j]!))
        : 1;
    const gate = a.map((ai, i) => ai + s.bEnc[i]!);
    const f =
      s.arch === "standard"
        ? gate.map((z) => Math.max(z, 0))
        : a.map((ai, i) => (gate[i]! > 0 ? Math.max(Math.exp(s.rMag![i]!) * ai + s.bMag![i]!, 0) : 0));
    const recon = (dec: Float64Array, bd: Float64Array, code: number[]) => {
      let e = 0;
      for (let j = 0; j < d; j++) {
        let xh = bd[j]!;
        for (let i = 0; i < m; i++) xh += dec[i * d + j]! * code[i]!;
        e += (x[t * d + j]! - xh) ** 2;
      }
      return e;
    };
    total += recon(s.decoder, s.bDec, f);
    if (s.arch === "standard") total += lambda * f.reduce((acc, fi, i) => acc + fi * norm(s.decoder, i), 0);
    else {
      const g = gate.map((z) => Math.max(z, 0));
      total += lambda * g.reduce((acc, gi, i) => acc + gi * norm(s.decoder, i), 0);
      total += recon(frozenDec, frozenBDec, g);
    }
  }
  return total / B;
};

describe("SAE gradients", () => {
  it("equal central finite differences of a naive loss (standard and gated, both decoder norms)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("standard" as const, "gated" as const),
        fc.constantFrom("unit" as const, "weighted-l1" as const),
        fc.nat(1000),
        (arch, dn, seed) => {
          const d = 5;
          const m = 7;
          const B = 4;
          const sae = randomSae(arch, dn, d, m, seed);
          const x = Float64Array.from(normals(seed + 99, B * d));
          const lambda = 0.7;
          const { parts, grads } = lossAndGrads(sae, x, B, lambda);
          const frozenDec = sae.decoder.slice();
          const frozenBDec = sae.bDec.slice();
          const L = () => naiveLoss(sae, x, B, lambda, frozenDec, frozenBDec);
          expect(Math.abs(L() - parts.loss)).toBeLessThan(1e-10 * (1 + Math.abs(parts.loss)));
          const h = 1e-6;
          let worst = 0;
          let checked = 0;
          for (const n of names) {
            const p = sae[n];
            const g = (grads as SaeGrads)[n];
            if (p === null || g === null) continue;
            for (let k = 0; k < p.length; k++) {
              const v = p[k]!;
              const mid = L();
              p[k] = v + h;
              const up = L();
              p[k] = v - h;
              const down = L();
              p[k] = v;
              // The loss is piecewise smooth (ReLU kinks, gate jumps): skip an entry whose two
              // one-sided slopes disagree, i.e. whose step crosses a kink.
              const right = (up - mid) / h;
              const left = (mid - down) / h;
              if (Math.abs(right - left) > 1e-3 * (1 + Math.abs(right))) continue;
              const fd = (up - down) / (2 * h);
              worst = Math.max(worst, Math.abs(fd - g[k]!) / (1 + Math.abs(fd)));
              checked++;
            }
          }
          expect(checked).toBeGreaterThan(50);
          expect(worst).toBeLessThan(1e-6);
        },
      ),
      { numRuns: 16, seed: 3 },
    );
  });

  it("spec decoding fills the defaults", () => {
    const s = Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 8 });
    expect(s).toMatchObject({ arch: "standard", decoderNorm: "unit", l1: 1, normalize: true, seed: 0 });
    expect(() => Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 0 })).toThrow();
  });
});
