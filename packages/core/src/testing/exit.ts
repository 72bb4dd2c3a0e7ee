import { Cause, Exit, Option } from "effect";
import { expect } from "vitest";

/**
 * The typed failure of an Exit, asserted: the run failed, and with a failure (not a defect, whose
 * cause is printed instead). `F` is what the test reads of the error (its tag and fields).
 */
export const failureOf = <F = { _tag: string; message: string }, A = unknown, E = unknown>(
  exit: Exit.Exit<A, E>,
): F => {
  expect(Exit.isFailure(exit), "expected the run to fail").toBe(true);
  if (!Exit.isFailure(exit)) throw new Error("unreachable");
  const f = Cause.failureOption(exit.cause);
  expect(Option.isSome(f), String(Cause.squash(exit.cause))).toBe(true);
  return (f as Option.Some<E>).value as unknown as F;
};

/** What `f` throws, asserted to be an instance of `cls` (a typed error); fails the test when f returns. */
export const thrownBy = <T>(f: () => unknown, cls: abstract new (...args: never[]) => T): T => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as T;
  }
  throw new Error(`expected a ${cls.name}, but the call returned`);
};
