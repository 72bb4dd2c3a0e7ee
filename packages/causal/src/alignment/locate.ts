import { fail } from "../model/errors.ts";
import type { PositionSpec } from "./schema.ts";

/**
 * The position a spec names in one prompt (see PositionSpec); a typed error when it is not there.
 *
 * Returns a 0-based position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { locate } from "@patchbay/causal";
 *
 * const ids = [3, 7, 5, 7];
 * assert.equal(locate("last", ids, "prompt 0", "positions[0]"), 3);
 * assert.equal(locate({ token: 7, occurrence: "first", offset: 1 }, ids, "prompt 0", "positions[0]"), 2);
 * assert.throws(() => locate({ index: 9 }, ids, "prompt 0", "positions[0]"));
 * ```
 */
export const locate = (spec: PositionSpec, ids: readonly number[], where: string, field: string): number => {
  const n = ids.length;
  let p: number;
  if (spec === "last") p = n - 1;
  else if ("index" in spec) p = spec.index < 0 ? n + spec.index : spec.index;
  else {
    const hit = spec.occurrence === "last" ? ids.lastIndexOf(spec.token) : ids.indexOf(spec.token);
    if (hit < 0) return fail(where, field, `a prompt containing token ${spec.token}`, `[${ids.join(", ")}]`);
    p = hit + spec.offset;
  }
  if (!(p >= 0 && p < n)) fail(where, field, `a position in [0, ${n})`, `${p} (${JSON.stringify(spec)})`);
  return p;
};

/**
 * A short label of a position spec, for tables and heatmaps ("last", "3", "tok7+1").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positionLabel } from "@patchbay/causal";
 *
 * assert.equal(positionLabel("last"), "last");
 * assert.equal(positionLabel({ index: 3 }), "3");
 * assert.equal(positionLabel({ token: 7, occurrence: "last", offset: 1 }), "tok7(last)+1");
 * ```
 */
export const positionLabel = (spec: PositionSpec): string =>
  spec === "last"
    ? "last"
    : "index" in spec
      ? String(spec.index)
      : `tok${spec.token}${spec.occurrence === "last" ? "(last)" : ""}${spec.offset !== 0 ? (spec.offset > 0 ? `+${spec.offset}` : spec.offset) : ""}`;
