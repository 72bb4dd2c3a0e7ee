import { readFileSync, writeFileSync } from "node:fs";
import { FORBIDDEN_KEYS_EXPECTED, forbiddenKeyPath } from "@patchbay/core/text";
import { InputError } from "@patchbay/core/errors";
import { Data, Effect, Either, ParseResult, Schema } from "effect";
import { makeSae, type Sae } from "./sae.ts";
import { DecoderNorm, SaeArch } from "./spec.ts";

/**
 * An SAE as one JSON file. Parameters are flat row-major arrays of float64 numbers (JSON's
 * shortest round-trip form, so save → load is bit-exact), shapes as in `Sae`:
 *   encoder [m, d], bEnc [m], rMag [m] / bMag [m] (gated), decoder [m, d] (row i = W_dec[:, i]), bDec [d]
 */
export const SAE_FORMAT = "patchbay-sae";
export const SAE_VERSION = 1;

export const SaeArtifact = Schema.Struct({
  format: Schema.Literal(SAE_FORMAT),
  version: Schema.Literal(SAE_VERSION),
  arch: SaeArch,
  site: Schema.String,
  d: Schema.Int.pipe(Schema.positive()),
  m: Schema.Int.pipe(Schema.positive()),
  inputScale: Schema.Number.pipe(Schema.positive()),
  decoderNorm: DecoderNorm,
  params: Schema.Struct({
    encoder: Schema.Array(Schema.Number),
    bEnc: Schema.Array(Schema.Number),
    rMag: Schema.optional(Schema.Array(Schema.Number)),
    bMag: Schema.optional(Schema.Array(Schema.Number)),
    decoder: Schema.Array(Schema.Number),
    bDec: Schema.Array(Schema.Number),
  }),
});
export type SaeArtifact = typeof SaeArtifact.Type;

/** A problem reading or writing an SAE file: which file, which field, what was expected. */
export class SaeFileError extends Data.TaggedError("SaeFileError")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/**
 * An SAE as its JSON artifact (format patchbay-sae, version 1), plain numbers for every tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSae, SAE_FORMAT, saeToArtifact } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * const a = saeToArtifact(sae);
 * assert.equal(a.format, SAE_FORMAT);
 * assert.deepEqual([a.d, a.m], [2, 2]);
 * ```
 */
export const saeToArtifact = (s: Sae): SaeArtifact => ({
  format: SAE_FORMAT,
  version: SAE_VERSION,
  arch: s.arch,
  site: s.site,
  d: s.d,
  m: s.m,
  inputScale: s.inputScale,
  decoderNorm: s.decoderNorm,
  params: {
    encoder: Array.from(s.encoder),
    bEnc: Array.from(s.bEnc),
    ...(s.rMag !== null ? { rMag: Array.from(s.rMag) } : {}),
    ...(s.bMag !== null ? { bMag: Array.from(s.bMag) } : {}),
    decoder: Array.from(s.decoder),
    bDec: Array.from(s.bDec),
  },
});

/**
 * Decode and check an artifact (any JSON value): a Sae, or an InputError naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Either } from "effect";
 * import { makeSae, saeFromArtifact, saeToArtifact } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * const back = saeFromArtifact(JSON.parse(JSON.stringify(saeToArtifact(sae))));
 * assert.ok(Either.isRight(back));
 * assert.ok(Either.isLeft(saeFromArtifact({ format: "patchbay-sae" })));
 * ```
 */
export const saeFromArtifact = (json: unknown): Either.Either<Sae, InputError> => {
  const r = Schema.decodeUnknownEither(SaeArtifact)(json, { errors: "first" });
  if (Either.isLeft(r)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(r.left)[0];
    return Either.left(
      new InputError({
        field: issue !== undefined && issue.path.length > 0 ? issue.path.join(".") : "artifact",
        expected: `a ${SAE_FORMAT} v${SAE_VERSION} artifact`,
        found: issue?.message ?? "an invalid value",
      }),
    );
  }
  const a = r.right;
  return Either.try({
    try: () =>
      makeSae({
        arch: a.arch,
        site: a.site,
        d: a.d,
        m: a.m,
        inputScale: a.inputScale,
        decoderNorm: a.decoderNorm,
        ...a.params,
      }),
    catch: (e) =>
      e instanceof InputError
        ? new InputError({ field: `params.${e.field}`, expected: e.expected, found: e.found })
        : new InputError({ field: "params", expected: "valid parameters", found: String(e) }),
  });
};

/**
 * Write an SAE as a JSON artifact (atomically), as an Effect failing with SaeFileError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { loadSae, makeSae, saveSae } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * const file = join(mkdtempSync(join(tmpdir(), "sae-")), "sae.json");
 * await Effect.runPromise(saveSae(file, sae));
 * const back = await Effect.runPromise(loadSae(file));
 * assert.deepEqual([...back.decoder], [...sae.decoder]);
 * ```
 */
export const saveSae = (path: string, s: Sae): Effect.Effect<void, SaeFileError> =>
  Effect.try({
    try: () => writeFileSync(path, JSON.stringify(saeToArtifact(s))),
    catch: (e) =>
      new SaeFileError({ file: path, field: "(file)", expected: "a writable path", found: String(e) }),
  });

/**
 * Read and check an SAE artifact, as an Effect failing with SaeFileError naming the file and the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { loadSae, makeSae, saveSae } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * const file = join(mkdtempSync(join(tmpdir(), "sae-")), "sae.json");
 * await Effect.runPromise(saveSae(file, sae));
 * const back = await Effect.runPromise(loadSae(file));
 * assert.deepEqual([...back.decoder], [...sae.decoder]);
 * ```
 */
export const loadSae = (path: string): Effect.Effect<Sae, SaeFileError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(path, "utf8"),
      catch: (e) =>
        new SaeFileError({ file: path, field: "(file)", expected: "a readable SAE file", found: String(e) }),
    });
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new SaeFileError({ file: path, field: "(json)", expected: "JSON", found: String(e) }),
    });
    const forbidden = forbiddenKeyPath(json);
    if (forbidden !== null)
      return yield* new SaeFileError({
        file: path,
        field: forbidden,
        expected: FORBIDDEN_KEYS_EXPECTED,
        found: forbidden,
      });
    const r = saeFromArtifact(json);
    if (Either.isLeft(r))
      return yield* new SaeFileError({
        file: path,
        field: r.left.field,
        expected: r.left.expected,
        found: r.left.found,
      });
    return r.right;
  });
