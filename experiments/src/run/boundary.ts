import { isPatchbayError, type PatchbayError } from "@patchbay/core";
import { Effect } from "effect";

/**
 * Errors of the method packages cross the experiment boundary as patchbay errors: `convert` maps
 * a package's own error (or returns null); patchbay errors pass through; anything else is a
 * defect and is rethrown. Returns the two wrappers a cell runner needs.
 */
export const errorBoundary = (convert: (e: unknown) => PatchbayError | null) => {
  const toPatchbay = (e: unknown): PatchbayError => {
    if (isPatchbayError(e)) return e;
    const converted = convert(e);
    if (converted !== null) return converted;
    throw e;
  };
  return {
    /** a synchronous step that may throw */
    attempt: <A>(f: () => A): Effect.Effect<A, PatchbayError> => Effect.try({ try: f, catch: toPatchbay }),
    /** an effect whose failures are the package's errors */
    mapErrors: <A, E, R>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, PatchbayError, R> =>
      Effect.mapError(eff, toPatchbay),
  };
};
