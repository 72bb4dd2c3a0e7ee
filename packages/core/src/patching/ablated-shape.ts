import { Effect } from "effect";
import { InputError } from "../errors/index.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";

/**
 * z′, every source's ablated output, as the exact and masked runs take it: [N, P, S, d]
 * (examples, positions, sources, d_model). A typed error naming `ablated` otherwise.
 */
export const checkAblated = (
  ablated: HostTensor,
  N: number,
  P: number,
  S: number,
  d: number,
): Effect.Effect<void, InputError> => {
  const want = [N, P, S, d];
  return sameShape(ablated.shape, want)
    ? Effect.void
    : Effect.fail(
        new InputError({
          field: "ablated",
          expected: `shape ${shapeString(want)} [examples, pos, sources, d_model]`,
          found: shapeString(ablated.shape),
        }),
      );
};
