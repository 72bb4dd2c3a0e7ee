import type { KindName } from "../results/envelope.ts";
import { causalKind } from "./causal/index.ts";
import type { CausalCellResult } from "./causal/result.ts";
import { circuitKind } from "./circuit/index.ts";
import type { CellResult } from "./circuit/result.ts";
import type { ExperimentKind } from "./kind.ts";
import { readoutKind } from "./readout/index.ts";
import type { ReadoutCellResult } from "./readout/result.ts";

/**
 * Every kind of experiment, in the order the report shows them and the file schema lists them. A
 * file, a spec and a result name their kind in `kind`; absent, it is circuit (the default, which
 * circuit specs and results leave out, so their ids and files are what they always were).
 */
const LISTED = [circuitKind, causalKind, readoutKind] as const;

type Listed = (typeof LISTED)[number];
type SpecOf<K> = K extends ExperimentKind<infer S, infer _R> ? S : never;
type ResultOf<K> = K extends ExperimentKind<infer _S, infer R> ? R : never;

/** The normalized spec of a cell of any kind (what the cell id hashes, and a worker receives). */
export type CellSpec = SpecOf<Listed>;

/** Any cell of the store: a circuit-discovery cell (no `kind`), a causal-abstraction or a readout one. */
export type AnyCellResult = ResultOf<Listed>;

/** A kind as the generic road sees it: it takes and gives the specs and results of any kind. */
export type AnyKind = ExperimentKind<CellSpec, AnyCellResult>;

export const KINDS: readonly AnyKind[] = LISTED as unknown as readonly AnyKind[];

/**
 * The experiment kind called `name` (circuit, causal, readout), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kindNamed } from "@patchbay/experiments";
 *
 * assert.equal(kindNamed("readout")?.name, "readout");
 * assert.equal(kindNamed("nope"), undefined);
 * ```
 */
export const kindNamed = (name: string): AnyKind | undefined => KINDS.find((k) => k.name === name);

const kindOf = (kind: unknown): AnyKind =>
  (typeof kind === "string" ? kindNamed(kind) : undefined) ?? KINDS[0]!;

/** The kind a document (file or stored result) names; any other value is decoded as circuit (and refused there). */
export const kindOfDocument = (doc: Readonly<Record<string, unknown>>): AnyKind => kindOf(doc.kind);

/**
 * The kind of a cell spec (its `kind`; circuit when absent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, kindOfSpec } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * assert.equal(kindOfSpec(cell!.spec).name, "readout");
 * ```
 */
export const kindOfSpec = (spec: CellSpec): AnyKind => kindOf((spec as { readonly kind?: KindName }).kind);

/**
 * The kind of a stored cell result (its `kind`; circuit when absent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, kindOfResult, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * assert.equal(kindOfResult(result).name, "readout");
 * ```
 */
export const kindOfResult = (r: AnyCellResult): AnyKind => kindOf((r as { readonly kind?: KindName }).kind);

export type { CausalCellResult, CellResult, ReadoutCellResult };
export type { IiaGrid } from "./causal/result.ts";
export type { ReadoutOutput } from "./readout/result.ts";
