/** The element-wise comparisons, for tests (they live in internal/: the CLI's demo uses them too). */
export { type Mismatch, maxAbsDiff, worstMismatch } from "../internal/compare.ts";
