import { Cause, Effect, Exit, Option } from "effect";

/**
 * Run an Effect and settle a Promise with its outcome. A typed failure rejects with the error object
 * itself (its `_tag`, message and fields, as the Effect API fails with), not with a wrapper; a defect
 * (a bug) rejects with what was thrown.
 */
export const toPromise = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect);
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = Cause.failureOption(exit.cause);
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause);
};
