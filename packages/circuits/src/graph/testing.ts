import { gpt2SmallConfig, type ModelConfig } from "@patchbay/core/model";
import fc from "fast-check";

/** Test support (not exported): small model shapes and a fast-check arbitrary over them. */
export const shape = (o: {
  nLayers: number;
  nHeads: number;
  nKvHeads?: number;
  mlp?: boolean;
  parallel?: boolean;
}): ModelConfig => ({
  ...gpt2SmallConfig,
  name: `test-${o.nLayers}x${o.nHeads}`,
  dModel: 8 * o.nHeads,
  dHead: 8,
  nLayers: o.nLayers,
  nHeads: o.nHeads,
  nKvHeads: o.nKvHeads ?? o.nHeads,
  dMlp: o.mlp === false ? null : 32,
  parallelResidual: o.parallel ?? false,
});

export const configArb: fc.Arbitrary<ModelConfig> = fc
  .record({
    nLayers: fc.integer({ min: 1, max: 4 }),
    nHeads: fc.integer({ min: 1, max: 6 }),
    mlp: fc.boolean(),
    parallel: fc.boolean(),
    kvPick: fc.nat(),
  })
  .map(({ kvPick, ...o }) => {
    const divisors = [...Array(o.nHeads).keys()].map((i) => i + 1).filter((d) => o.nHeads % d === 0);
    return shape({ ...o, nKvHeads: divisors[kvPick % divisors.length]! });
  });

/** Scores with many ties (small integers), to exercise tie-breaking. */
export const scoresArb = (n: number): fc.Arbitrary<Float64Array> =>
  fc
    .array(
      fc.oneof(
        { arbitrary: fc.integer({ min: -2, max: 2 }), weight: 3 },
        { arbitrary: fc.double({ min: -5, max: 5, noNaN: true }), weight: 1 },
      ),
      {
        minLength: n,
        maxLength: n,
      },
    )
    .map((a) => Float64Array.from(a));

export const maskArb = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a, Number));
