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

/** Throws unless `scores` has one entry per layout edge. */
export const checkScores = (layout: EdgeLayout, scores: ArrayLike<number>, what = "scores"): void => {
  if (scores.length !== layout.edges.length)
    throw new RangeError(
      `${what}: expected ${layout.edges.length} entries (one per edge), found ${scores.length}`,
    );
};

/** Throws unless `inGraph` has one byte per layout edge, each 0 or 1. */
export const checkInGraph = (layout: EdgeLayout, inGraph: Uint8Array): void => {
  checkScores(layout, inGraph, "inGraph");
  for (let i = 0; i < inGraph.length; i++)
    if (inGraph[i]! > 1)
      throw new RangeError(`inGraph[${i}] (${layout.edges[i]!.name}) is ${inGraph[i]}, not 0 or 1`);
};

/** The circuit holding no edge, and the one holding every edge. */
export const emptyCircuit = (layout: EdgeLayout, scores?: Scores): Circuit =>
  withScores({ layout, inGraph: new Uint8Array(layout.edges.length) }, scores);
export const fullCircuit = (layout: EdgeLayout, scores?: Scores): Circuit =>
  withScores({ layout, inGraph: new Uint8Array(layout.edges.length).fill(1) }, scores);

const withScores = (c: Circuit, scores: Scores | undefined): Circuit =>
  scores === undefined ? c : { ...c, scores };

/** Number of in-graph edges. */
export const edgeCount = (inGraph: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < inGraph.length; i++) n += inGraph[i]!;
  return n;
};

/** Indices of the in-graph edges, ascending. */
export const edgeIndices = (inGraph: Uint8Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < inGraph.length; i++) if (inGraph[i]) out.push(i);
  return out;
};

/** Names of the in-graph edges, in layout order. */
export const edgeNames = (c: Circuit): string[] => edgeIndices(c.inGraph).map((i) => c.layout.edges[i]!.name);
