/**
 * The edge ablations (what an ablated edge carries instead of its source's output; sources.ts).
 * A plain list, importable without the engine: the CLI's usage and its choice errors read it, and
 * the `EdgeAblation` Schema is built from it.
 */
export const EDGE_ABLATIONS = ["resample", "zero", "mean", "mean-positional"] as const;
