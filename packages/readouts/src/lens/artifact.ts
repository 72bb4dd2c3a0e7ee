import { readFileSync } from "node:fs";
import { attempt, InputError } from "@patchbay/core/errors";
import { FORBIDDEN_KEYS_EXPECTED, forbiddenKeyPath, writeFileAtomicSync } from "@patchbay/core/text";
import type { ModelConfig } from "@patchbay/core/model";
import { Effect, ParseResult, Schema } from "effect";
import { finalSite, resolveLensSites } from "./sites.ts";
import type { TunedLens } from "./translator.ts";

/**
 * Tuned-lens translators as a JSON artifact. Float32 values are written as JS numbers (their
 * shortest round-trip form), so a reload gives bit-identical translators and the same KL.
 * On load: the format, every field's type, A = d·d and b = d numbers, all finite, distinct sites
 * and, given the model, its width and residual sites. Errors are InputErrors whose field names
 * the file and the field (`file: translators[2].A`).
 */
export const TUNED_LENS_FORMAT = "patchbay.tuned-lens/1";

export const TunedLensArtifact = Schema.Struct({
  format: Schema.Literal(TUNED_LENS_FORMAT),
  model: Schema.String,
  dModel: Schema.Int.pipe(Schema.positive()),
  translators: Schema.Array(
    Schema.Struct({
      site: Schema.String,
      /** [d, d] row-major */
      A: Schema.Array(Schema.Number),
      /** [d] */
      b: Schema.Array(Schema.Number),
    }),
  ),
  /** Optional per-site KL measured when saved (for re-evaluation checks). */
  kl: Schema.optional(Schema.Array(Schema.Struct({ site: Schema.String, kl: Schema.Number }))),
});
export type TunedLensArtifact = typeof TunedLensArtifact.Type;

/**
 * A tuned lens as a file's content (format patchbay.tuned-lens/1), with the KL per site when known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityTranslator, tunedLensArtifact } from "@patchbay/readouts";
 * const lens = { model: "builtin:induction", dModel: 4, translators: [identityTranslator("blocks.0.resid_post", 4)] };
 * const a = tunedLensArtifact(lens);
 * assert.equal(a.format, "patchbay.tuned-lens/1");
 * assert.equal(a.translators.length, 1);
 * ```
 */
export const tunedLensArtifact = (
  lens: TunedLens,
  kl?: readonly { readonly site: string; readonly kl: number }[],
): TunedLensArtifact => ({
  format: TUNED_LENS_FORMAT,
  model: lens.model,
  dModel: lens.dModel,
  translators: lens.translators.map((t) => ({ site: t.site, A: [...t.A], b: [...t.b] })),
  ...(kl !== undefined ? { kl: [...kl] } : {}),
});

/**
 * Write atomically (temporary file, then rename).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { identityTranslator, loadTunedLens, saveTunedLens } from "@patchbay/readouts";
 * const lens = { model: "builtin:induction", dModel: 4, translators: [identityTranslator("blocks.0.resid_post", 4)] };
 * const file = join(mkdtempSync(join(tmpdir(), "lens-")), "lens.json");
 * await Effect.runPromise(saveTunedLens(file, lens, [{ site: "blocks.0.resid_post", kl: 0.5 }]));
 * const { artifact } = await Effect.runPromise(loadTunedLens(file));
 * assert.deepEqual(artifact.kl, [{ site: "blocks.0.resid_post", kl: 0.5 }]);
 * ```
 */
export const saveTunedLens = (
  file: string,
  lens: TunedLens,
  kl?: readonly { readonly site: string; readonly kl: number }[],
): Effect.Effect<void, InputError> =>
  Effect.try({
    try: () => {
      writeFileAtomicSync(file, `${JSON.stringify(tunedLensArtifact(lens, kl))}\n`, { mkdir: true });
    },
    catch: (e) => new InputError({ field: `${file}`, expected: "a writable path", found: String(e) }),
  });

/**
 * Validate a parsed artifact (the checks of loadTunedLens, for documents not read from a file).
 *
 * Returns `{ lens, artifact }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { checkTunedLens, identityTranslator, tunedLensArtifact } from "@patchbay/readouts";
 * const lens = { model: "builtin:induction", dModel: 4, translators: [identityTranslator("blocks.0.resid_post", 4)] };
 * const raw = JSON.parse(JSON.stringify(tunedLensArtifact(lens)));
 * const { lens: back } = await Effect.runPromise(checkTunedLens("inline", raw));
 * assert.equal(back.translators[0]!.site, "blocks.0.resid_post");
 * ```
 */
export const checkTunedLens = (
  where: string,
  raw: unknown,
  config?: ModelConfig,
): Effect.Effect<{ readonly lens: TunedLens; readonly artifact: TunedLensArtifact }, InputError> =>
  Effect.gen(function* () {
    const a = yield* Schema.decodeUnknown(TunedLensArtifact)(raw).pipe(
      Effect.mapError((e) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]!;
        return new InputError({
          field: `${where}: ${issue.path.join(".") || "(document)"}`,
          expected: `a ${TUNED_LENS_FORMAT} artifact`,
          found: issue.message,
        });
      }),
    );
    const fail = (field: string, expected: string, found: string) =>
      Effect.fail(new InputError({ field: `${where}: ${field}`, expected, found }));
    const d = a.dModel;
    if (config !== undefined && config.dModel !== d)
      return yield* fail("dModel", `d_model = ${config.dModel} (${config.name})`, String(d));
    const seen = new Set<string>();
    for (const [i, t] of a.translators.entries()) {
      const at = `translators[${i}]`;
      if (seen.has(t.site)) return yield* fail(`${at}.site`, "a site not listed before", t.site);
      seen.add(t.site);
      if (t.A.length !== d * d)
        return yield* fail(`${at}.A`, `${d}·${d} = ${d * d} numbers`, String(t.A.length));
      if (t.b.length !== d) return yield* fail(`${at}.b`, `${d} numbers`, String(t.b.length));
      const bad = [...t.A, ...t.b].findIndex((x) => !Number.isFinite(x));
      if (bad >= 0)
        return yield* fail(
          bad < t.A.length ? `${at}.A[${bad}]` : `${at}.b[${bad - t.A.length}]`,
          "a finite number",
          "non-finite",
        );
      if (config !== undefined) {
        const r = yield* Effect.either(attempt(() => resolveLensSites(config, [t.site]), InputError));
        if (r._tag === "Left") return yield* fail(`${at}.site`, r.left.expected, r.left.found);
        if (r.right[0] === finalSite(config))
          return yield* fail(
            `${at}.site`,
            "a site before the final residual (which decodes as itself)",
            t.site,
          );
      }
    }
    const lens: TunedLens = {
      model: a.model,
      dModel: d,
      translators: a.translators.map((t) => ({
        site: config === undefined ? t.site : resolveLensSites(config, [t.site])[0]!,
        A: Float32Array.from(t.A),
        b: Float32Array.from(t.b),
      })),
    };
    return { lens, artifact: a };
  });

/**
 * Read and check a tuned-lens artifact; errors name the file and the field.
 *
 * Returns `{ lens, artifact }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { identityTranslator, loadTunedLens, saveTunedLens } from "@patchbay/readouts";
 * const lens = { model: "builtin:induction", dModel: 4, translators: [identityTranslator("blocks.0.resid_post", 4)] };
 * const file = join(mkdtempSync(join(tmpdir(), "lens-")), "lens.json");
 * await Effect.runPromise(saveTunedLens(file, lens, [{ site: "blocks.0.resid_post", kl: 0.5 }]));
 * const { artifact } = await Effect.runPromise(loadTunedLens(file));
 * assert.deepEqual(artifact.kl, [{ site: "blocks.0.resid_post", kl: 0.5 }]);
 * ```
 */
export const loadTunedLens = (
  file: string,
  config?: ModelConfig,
): Effect.Effect<{ readonly lens: TunedLens; readonly artifact: TunedLensArtifact }, InputError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) => new InputError({ field: `${file}`, expected: "a readable file", found: String(e) }),
    });
    const raw = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new InputError({ field: `${file}: (document)`, expected: "JSON", found: String(e) }),
    });
    const forbidden = forbiddenKeyPath(raw);
    if (forbidden !== null)
      return yield* new InputError({
        field: `${file}: ${forbidden}`,
        expected: FORBIDDEN_KEYS_EXPECTED,
        found: forbidden,
      });
    return yield* checkTunedLens(file, raw, config);
  });
