import { isDims, isRotation, type VariableAlignment } from "../alignment/schema.ts";
import { CausalError, show } from "../model/errors.ts";

/**
 * Options DAS would ignore, refused (every option changes the result or is refused):
 *   rank × boundless             Boundless DAS rotates all D coordinates and learns the mask; k is D.
 *   subspace {rank} × boundless  the same, written in the alignment.
 *   subspace {dims}              DAS learns a rotation; fixed coordinates are an iia alignment.
 *   subspace {rank: r} × rank k  two sizes for one subspace (DAS would take k).
 * Boundless-only options (sizePenalty, lr, temperature) live inside `boundless` by construction.
 */
export const dasProblem = (
  where: string,
  entry: Pick<VariableAlignment, "subspace">,
  /** DasOptions' rank and boundless (./train.ts; only whether boundless is set matters here). */
  opts: { readonly rank?: number; readonly boundless?: object },
): CausalError | null => {
  const sub = entry.subspace;
  if (opts.boundless !== undefined && opts.rank !== undefined)
    return new CausalError({
      where,
      field: "rank",
      expected: "no rank with boundless (Boundless DAS rotates every coordinate and learns the mask)",
      found: String(opts.rank),
    });
  if (isDims(sub))
    return new CausalError({
      where,
      field: "entry.subspace",
      expected: '"full" or {rank} (DAS learns a rotation; fixed dims are an alignment for iia)',
      found: show(sub),
    });
  if (isRotation(sub) && opts.boundless !== undefined)
    return new CausalError({
      where,
      field: "entry.subspace",
      expected: '"full" with boundless (Boundless DAS rotates every coordinate and learns the mask)',
      found: show(sub),
    });
  if (isRotation(sub) && opts.rank !== undefined && opts.rank !== sub.rank)
    return new CausalError({
      where,
      field: "rank",
      expected: `the rank of entry.subspace (${sub.rank}), or no rank`,
      found: String(opts.rank),
    });
  return null;
};
