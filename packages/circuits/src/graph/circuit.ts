import type { EdgeLayout } from "@patchbay/core/edges";

/**
 * Scores and circuits are plain data keyed by layout edge index (`layout.edges[i]`): a score
 * array has length `layout.edges.length`, and a circuit marks each edge in (1) or out (0).
 */
export type Scores = Float64Array | Float32Array;

export interface Circuit {
  readonly layout: EdgeLayout;
  /** One byte per layout edge: 1 when the edge is in the circuit. */
  readonly inGraph: Uint8Array;
  /** The scores the circuit was selected from, when known. */
  readonly scores?: Scores;
}

/**
 * Throws unless `scores` has one entry per layout edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkScores } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config); // the compiled induction model: 81 edges
 * checkScores(layout, new Float64Array(81));
 * assert.throws(() => checkScores(layout, new Float64Array(3)), RangeError);
 * ```
 */
export const checkScores = (layout: EdgeLayout, scores: ArrayLike<number>, what = "scores"): void => {
  if (scores.length !== layout.edges.length)
    throw new RangeError(
      `${what}: expected ${layout.edges.length} entries (one per edge), found ${scores.length}`,
    );
};

/**
 * Throws unless `inGraph` has one byte per layout edge, each 0 or 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInGraph } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config); // 81 edges
 * checkInGraph(layout, new Uint8Array(81).fill(1));
 * assert.throws(() => checkInGraph(layout, new Uint8Array(81).fill(2)), RangeError);
 * ```
 */
export const checkInGraph = (layout: EdgeLayout, inGraph: Uint8Array): void => {
  checkScores(layout, inGraph, "inGraph");
  for (let i = 0; i < inGraph.length; i++)
    if (inGraph[i]! > 1)
      throw new RangeError(`inGraph[${i}] (${layout.edges[i]!.name}) is ${inGraph[i]}, not 0 or 1`);
};

/**
 * The circuit holding no edge, and the one holding every edge.
 *
 * Each is a Circuit `{ layout, inGraph, scores? }` with one byte per layout edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeCount, emptyCircuit } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const c = emptyCircuit(edgeLayout(inductionModel().config));
 * assert.equal(c.inGraph.length, 81);
 * assert.equal(edgeCount(c.inGraph), 0);
 * ```
 */
export const emptyCircuit = (layout: EdgeLayout, scores?: Scores): Circuit =>
  withScores({ layout, inGraph: new Uint8Array(layout.edges.length) }, scores);
/**
 * The circuit holding every edge of the layout: a Circuit `{ layout, inGraph, scores? }`, every byte 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeCount, fullCircuit } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const c = fullCircuit(edgeLayout(inductionModel().config));
 * assert.equal(edgeCount(c.inGraph), c.layout.edges.length);
 * ```
 */
export const fullCircuit = (layout: EdgeLayout, scores?: Scores): Circuit =>
  withScores({ layout, inGraph: new Uint8Array(layout.edges.length).fill(1) }, scores);

const withScores = (c: Circuit, scores: Scores | undefined): Circuit =>
  scores === undefined ? c : { ...c, scores };

/**
 * Number of in-graph edges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeCount } from "@patchbay/circuits";
 *
 * assert.equal(edgeCount(Uint8Array.of(1, 0, 1, 1)), 3);
 * ```
 */
export const edgeCount = (inGraph: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < inGraph.length; i++) n += inGraph[i]!;
  return n;
};

/**
 * Indices of the in-graph edges, ascending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeIndices } from "@patchbay/circuits";
 *
 * assert.deepEqual(edgeIndices(Uint8Array.of(0, 1, 0, 1)), [1, 3]);
 * ```
 */
export const edgeIndices = (inGraph: Uint8Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < inGraph.length; i++) if (inGraph[i]) out.push(i);
  return out;
};

/**
 * Names of the in-graph edges, in layout order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeNames, emptyCircuit } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const c = emptyCircuit(edgeLayout(inductionModel().config));
 * c.inGraph[0] = 1;
 * assert.deepEqual(edgeNames(c), ["input->a0.h0<q>"]);
 * ```
 */
export const edgeNames = (c: Circuit): string[] => edgeIndices(c.inGraph).map((i) => c.layout.edges[i]!.name);
