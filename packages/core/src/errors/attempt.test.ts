import { Cause, Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { attempt } from "./attempt.ts";
import { InputError, TokenizerError } from "./errors.ts";

const bad = new InputError({ field: "ids", expected: "token ids", found: "[]" });

describe("attempt", () => {
  it("returns the value of code that does not throw", () => {
    expect(Effect.runSync(attempt(() => 7, InputError))).toBe(7);
  });

  it("turns a thrown error of a listed class into the typed failure", () => {
    const exit = Effect.runSyncExit(
      attempt(() => {
        throw bad;
      }, InputError),
    );
    expect(exit).toEqual(Exit.fail(bad));
  });

  it("makes anything else a defect, not a mislabelled input error", () => {
    const exit = Effect.runSyncExit(
      attempt(
        () => {
          throw new TypeError("a bug");
        },
        InputError,
        TokenizerError,
      ),
    );
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true);
  });
});
