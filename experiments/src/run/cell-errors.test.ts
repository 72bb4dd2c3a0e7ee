import * as causal from "@patchbay/causal";
import { attempt, InputError, PATCHBAY_ERRORS } from "@patchbay/core/errors";
import * as readouts from "@patchbay/readouts";
import { Cause, Effect, Exit, Option } from "effect";
import { describe, expect, it } from "vitest";
import { CELL_ERRORS, isCellError } from "./cell-errors.ts";

/**
 * Every tagged error class a package exports (Data.TaggedError: instances carry a `_tag`). The
 * causal package also exports two plain Errors of its linear algebra (RankDeficient,
 * SingularMatrix): internal signals, not cell failures, so a cell that throws one dies as a defect.
 */
const taggedErrorClassesOf = (pkg: Readonly<Record<string, unknown>>) =>
  Object.values(pkg).filter(
    (v): v is (typeof CELL_ERRORS)[number] =>
      typeof v === "function" &&
      v.prototype instanceof Error &&
      typeof (new (v as new (a: object) => { _tag?: unknown })({}) as { _tag?: unknown })._tag === "string",
  );

const names = (cs: readonly { readonly name: string }[]) => cs.map((c) => c.name).sort();

describe("CELL_ERRORS", () => {
  it("is core's list plus every tagged error class the causal and readouts packages export, each once", () => {
    expect(new Set(CELL_ERRORS).size).toBe(CELL_ERRORS.length);
    expect(names(CELL_ERRORS)).toEqual(
      names([...PATCHBAY_ERRORS, ...taggedErrorClassesOf(causal), ...taggedErrorClassesOf(readouts)]),
    );
  });

  it("isCellError recognises every listed class by its own tag, and nothing else", () => {
    for (const C of CELL_ERRORS) {
      const e = new C({} as never);
      expect(e._tag, C.name).toBe(C.name);
      expect(isCellError(e), C.name).toBe(true);
    }
    for (const other of [
      new Error("CausalError"),
      new TypeError("x"),
      { _tag: "CellError" },
      null,
      "InputError",
    ])
      expect(isCellError(other)).toBe(false);
  });

  it("attempt(…, ...CELL_ERRORS) keeps a thrown CausalError as the typed failure, with its tag; anything else is a defect", () => {
    const thrown = new causal.CausalError({
      where: "induction",
      field: "task.family",
      expected: "a family",
      found: "nope",
    });
    const failed = Effect.runSyncExit(
      attempt(
        () => {
          throw thrown;
        },
        ...CELL_ERRORS,
      ),
    );
    expect(Exit.isFailure(failed) && Option.getOrNull(Cause.failureOption(failed.cause))).toBe(thrown);
    const input = new InputError({ field: "f", expected: "e", found: "x" });
    const failedInput = Effect.runSyncExit(
      attempt(
        () => {
          throw input;
        },
        ...CELL_ERRORS,
      ),
    );
    expect(Exit.isFailure(failedInput) && Option.getOrNull(Cause.failureOption(failedInput.cause))).toBe(
      input,
    );
    const defect = Effect.runSyncExit(
      attempt(
        () => {
          throw new TypeError("a bug");
        },
        ...CELL_ERRORS,
      ),
    );
    expect(Exit.isFailure(defect) && Cause.isDie(defect.cause)).toBe(true);
    expect(Effect.runSync(attempt(() => 3, ...CELL_ERRORS))).toBe(3);
  });
});
