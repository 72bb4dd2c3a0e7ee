import { readFileSync } from "node:fs";
import { Effect, ParseResult, Schema } from "effect";
import { FORBIDDEN_KEYS_EXPECTED, forbiddenKeyPath, writeFileAtomicSync } from "@patchbay/core/text";
import { VariableAlignment } from "../alignment/schema.ts";
import { CausalError } from "../model/errors.ts";
import { makeRotation, orthonormalityError, rotationKinds } from "./rotation/index.ts";
import type { LearnedRotation } from "./train.ts";

/**
 * Learned rotations as artifacts: a JSON file with the alignment (variable, site, positions), the
 * parametrization and θ, and R itself. Numbers are written as JS numbers (shortest round-trip
 * form), so a reload gives bit-identical float64 values and the same IIA. On load, R is checked
 * against the parametrization (R = rows of Q(θ)) and for orthonormal rows.
 */
export const ROTATION_FORMAT = "patchbay.das-rotation/1";

const Numbers = Schema.Array(Schema.Number);

export const RotationArtifact = Schema.Struct({
  format: Schema.Literal(ROTATION_FORMAT),
  alignment: VariableAlignment,
  /** the model the rotation was learned on (config name) and its weights' hash, if known */
  model: Schema.String,
  weightsHash: Schema.optional(Schema.String),
  parametrization: Schema.Literal(...rotationKinds),
  size: Schema.Int.pipe(Schema.positive()),
  rank: Schema.Int.pipe(Schema.positive()),
  theta: Numbers,
  rotation: Numbers,
  mask: Schema.NullOr(Numbers),
  bounds: Schema.NullOr(Schema.Struct({ lo: Schema.Number, hi: Schema.Number })),
  /** IIA measured when the rotation was learned (for re-evaluation checks) */
  iia: Schema.optional(Schema.Number),
});
export type RotationArtifact = typeof RotationArtifact.Type;

/**
 * A learned rotation as a file's content (format patchbay.das-rotation/1): the alignment, the model, θ, R and the mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ROTATION_FORMAT, rotationArtifact } from "@patchbay/causal";
 *
 * const learned = {
 *   parametrization: "cayley" as const,
 *   size: 3,
 *   rank: 1,
 *   theta: new Float64Array(3),
 *   rotation: Float64Array.of(1, 0, 0),
 *   mask: null,
 *   bounds: null,
 * };
 * const alignment = { variable: "X", site: "blocks.0.resid_post", positions: ["last" as const], subspace: { rank: 1 } };
 * const a = rotationArtifact(alignment, "builtin:linear-toy", learned, { iia: 1 });
 * assert.equal(a.format, ROTATION_FORMAT);
 * assert.deepEqual(a.rotation, [1, 0, 0]);
 * ```
 */
export const rotationArtifact = (
  alignment: VariableAlignment,
  model: string,
  learned: LearnedRotation,
  extra: { readonly weightsHash?: string; readonly iia?: number } = {},
): RotationArtifact => ({
  format: ROTATION_FORMAT,
  alignment,
  model,
  ...extra,
  parametrization: learned.parametrization,
  size: learned.size,
  rank: learned.rank,
  theta: [...learned.theta],
  rotation: [...learned.rotation],
  mask: learned.mask === null ? null : [...learned.mask],
  bounds: learned.bounds,
});

/**
 * Write atomically (temporary file, then rename).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadRotation, rotationArtifact, saveRotation } from "@patchbay/causal";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 *
 * const learned = {
 *   parametrization: "cayley" as const,
 *   size: 3,
 *   rank: 1,
 *   theta: new Float64Array(3),
 *   rotation: Float64Array.of(1, 0, 0),
 *   mask: null,
 *   bounds: null,
 * };
 * const alignment = { variable: "X", site: "blocks.0.resid_post", positions: ["last" as const], subspace: { rank: 1 } };
 * const file = join(mkdtempSync(join(tmpdir(), "rotation-")), "x.json");
 * await Effect.runPromise(saveRotation(file, rotationArtifact(alignment, "builtin:linear-toy", learned)));
 * const { artifact } = await Effect.runPromise(loadRotation(file));
 * assert.deepEqual(artifact.alignment, alignment);
 * ```
 */
export const saveRotation = (file: string, a: RotationArtifact): Effect.Effect<void, CausalError> =>
  Effect.try({
    try: () => {
      writeFileAtomicSync(file, `${JSON.stringify(a)}\n`, { mkdir: true });
    },
    catch: (e) =>
      new CausalError({ where: file, field: "(file)", expected: "a writable path", found: String(e) }),
  });

/**
 * Read, validate and check a rotation artifact; errors name the file and the field.
 *
 * Returns `{ artifact, … }` (the validated file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadRotation, rotationArtifact, saveRotation } from "@patchbay/causal";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 *
 * const learned = {
 *   parametrization: "cayley" as const,
 *   size: 3,
 *   rank: 1,
 *   theta: new Float64Array(3),
 *   rotation: Float64Array.of(1, 0, 0),
 *   mask: null,
 *   bounds: null,
 * };
 * const alignment = { variable: "X", site: "blocks.0.resid_post", positions: ["last" as const], subspace: { rank: 1 } };
 * const file = join(mkdtempSync(join(tmpdir(), "rotation-")), "x.json");
 * await Effect.runPromise(saveRotation(file, rotationArtifact(alignment, "builtin:linear-toy", learned)));
 * const { artifact } = await Effect.runPromise(loadRotation(file));
 * assert.deepEqual(artifact.alignment, alignment);
 * ```
 */
export const loadRotation = (
  file: string,
): Effect.Effect<{ readonly artifact: RotationArtifact; readonly learned: LearnedRotation }, CausalError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) =>
        new CausalError({ where: file, field: "(file)", expected: "a readable file", found: String(e) }),
    });
    const raw = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new CausalError({ where: file, field: "(document)", expected: "JSON", found: String(e) }),
    });
    const forbidden = forbiddenKeyPath(raw);
    if (forbidden !== null)
      return yield* new CausalError({
        where: file,
        field: forbidden,
        expected: FORBIDDEN_KEYS_EXPECTED,
        found: forbidden,
      });
    const a = yield* Schema.decodeUnknown(RotationArtifact)(raw).pipe(
      Effect.mapError((e) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]!;
        return new CausalError({
          where: file,
          field: issue.path.join(".") || "(document)",
          expected: `a ${ROTATION_FORMAT} artifact`,
          found: issue.message,
        });
      }),
    );
    const check = (ok: boolean, field: string, expected: string, found: string) =>
      ok ? Effect.void : Effect.fail(new CausalError({ where: file, field, expected, found }));
    yield* check(a.rank <= a.size, "rank", `at most size = ${a.size}`, String(a.rank));
    yield* check(
      a.rotation.length === a.rank * a.size,
      "rotation",
      `${a.rank}·${a.size} numbers`,
      String(a.rotation.length),
    );
    const rot = makeRotation(a.parametrization, a.size, a.rank);
    yield* check(
      a.theta.length === rot.nParams,
      "theta",
      `${rot.nParams} parameters (${a.parametrization})`,
      String(a.theta.length),
    );
    if (a.mask !== null)
      yield* check(a.mask.length === a.rank, "mask", `${a.rank} numbers`, String(a.mask.length));
    const R = Float64Array.from(a.rotation);
    const err = orthonormalityError(R, a.rank, a.size);
    yield* check(err < 1e-6, "rotation", "orthonormal rows (|R Rᵀ − I| < 1e-6)", err.toExponential(2));
    const fromTheta = rot.matrix(Float64Array.from(a.theta));
    const drift = fromTheta.reduce((m, x, i) => Math.max(m, Math.abs(x - R[i]!)), 0);
    yield* check(
      drift < 1e-9,
      "theta",
      "θ whose rotation is the stored R",
      `max |R(θ) − R| = ${drift.toExponential(2)}`,
    );
    return {
      artifact: a,
      learned: {
        parametrization: a.parametrization,
        size: a.size,
        rank: a.rank,
        theta: Float64Array.from(a.theta),
        rotation: R,
        mask: a.mask === null ? null : Float64Array.from(a.mask),
        bounds: a.bounds,
      },
    };
  });
