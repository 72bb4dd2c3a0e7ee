import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { ConfigError } from "@patchbay/core/errors";
import { writeFileAtomicSync } from "@patchbay/core/text";
import { weightsHash } from "@patchbay/core/weights";
import { Effect, Either, ParseResult, Schema } from "effect";
import type { EdgeSetup } from "./setup.ts";

/**
 * ACDC's state between two receivers, as data: everything the sweep needs to continue exactly
 * where it stopped. `next` is the next receiver (destination index) to visit; `inGraph` the current
 * H ("0"/"1" per edge); `deltas` the Δs measured so far (null: not tested yet); `baseline` m(H)
 * and `removalRate` the speculative batching's state; `randCalls` how far the seeded parent
 * shuffle has gone. `hashes` identify the model, task and options the run was started with.
 */
/**
 * The checkpoint format this version writes and reads. /2: every trial runs downstream of its
 * receiver's layer (acdc-rows.ts); a /1 checkpoint (the full edge-masked graph per trial) has the
 * same hashes but Δs that differ in the last bits, so resuming it would not give the bytes of an
 * uninterrupted run: it is refused.
 */
export const ACDC_CHECKPOINT_FORMAT = "patchbay-acdc-checkpoint/2";

export const AcdcCheckpoint = Schema.Struct({
  format: Schema.Literal(ACDC_CHECKPOINT_FORMAT),
  hashes: Schema.Struct({ model: Schema.String, task: Schema.String, options: Schema.String }),
  options: Schema.Struct({
    tau: Schema.Number,
    order: Schema.Literal("normal", "reverse", "random"),
    seed: Schema.Number,
    absolute: Schema.Boolean,
    speculate: Schema.Number,
    split: Schema.Number,
  }),
  next: Schema.Number,
  receiversDone: Schema.Number,
  inGraph: Schema.String,
  deltas: Schema.Array(Schema.NullOr(Schema.Number)),
  baseline: Schema.NullOr(Schema.Number),
  full: Schema.NullOr(Schema.Number),
  removalRate: Schema.Number,
  randCalls: Schema.Number,
  runs: Schema.Number,
  forwardPasses: Schema.Number,
  serialTests: Schema.Number,
});
export type AcdcCheckpoint = typeof AcdcCheckpoint.Type;
export type AcdcCheckpointOptions = AcdcCheckpoint["options"];

const sha = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** What a checkpoint must match to be resumed: the model (config and weights), the task, the options. */
export const checkpointHashes = (
  setup: EdgeSetup,
  options: AcdcCheckpointOptions,
): AcdcCheckpoint["hashes"] => {
  const t = setup.task;
  return {
    model: sha(JSON.stringify(setup.model.config), "\0", weightsHash(setup.model.weights)),
    task: sha(
      JSON.stringify([t.clean, t.corrupted ?? null, t.reference ?? null, t.ablation, t.metric, t.positions]),
      JSON.stringify([t.answers ?? null, t.wrong ?? null, setup.layout.edges.length]),
    ),
    options: sha(JSON.stringify(options)),
  };
};

/** Write the checkpoint atomically (core/text: a temporary file beside it, fsynced, then renamed). */
export const writeCheckpoint = (file: string, state: AcdcCheckpoint): void =>
  writeFileAtomicSync(file, `${JSON.stringify(state)}\n`, { mkdir: true });

/**
 * The checkpoint at `file`, or null when there is none. A file that does not parse, that was
 * written in another format (an older patchbay's), or for another model, task or options, is a
 * ConfigError naming the file and what differs.
 */
export const readCheckpoint = (
  file: string,
  expected: AcdcCheckpoint["hashes"],
  edges: number,
): Effect.Effect<AcdcCheckpoint | null, ConfigError> =>
  Effect.gen(function* () {
    if (!existsSync(file)) return null;
    const bad = (field: string, want: string, found: string) =>
      new ConfigError({ file, field, expected: want, found });
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      return yield* bad("(file)", "an ACDC checkpoint (JSON)", e instanceof Error ? e.message : String(e));
    }
    const format = (json as { format?: unknown } | null)?.format;
    if (typeof format === "string" && format !== ACDC_CHECKPOINT_FORMAT)
      return yield* bad(
        "format",
        `${ACDC_CHECKPOINT_FORMAT} (written by this patchbay: its Δs come from downstream-only runs; delete the file to start the ACDC run afresh)`,
        format,
      );
    const decoded = Schema.decodeUnknownEither(AcdcCheckpoint)(json);
    if (Either.isLeft(decoded))
      return yield* bad(
        "(file)",
        `an ACDC checkpoint (${ACDC_CHECKPOINT_FORMAT})`,
        ParseResult.TreeFormatter.formatErrorSync(decoded.left),
      );
    const c = decoded.right;
    for (const k of ["model", "task", "options"] as const)
      if (c.hashes[k] !== expected[k])
        return yield* bad(
          `hashes.${k}`,
          `the ${k} of this run (${expected[k].slice(0, 16)}…)`,
          `another ${k} (${c.hashes[k].slice(0, 16)}…)`,
        );
    if (c.inGraph.length !== edges || c.deltas.length !== edges || !/^[01]*$/.test(c.inGraph))
      return yield* bad("inGraph", `${edges} edges as 0/1`, `${c.inGraph.length} characters`);
    return c;
  });
