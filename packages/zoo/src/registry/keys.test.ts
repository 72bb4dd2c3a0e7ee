import { ConfigError } from "@patchbay/core/errors";
import { FORBIDDEN_KEYS } from "@patchbay/core/text";
import { describe, expect, it } from "vitest";
import { trainerEnv } from "./builtins.ts";
import { resolveBuiltin } from "./index.ts";

/** The zoo's side of the forbidden-key checks (core's are in core/src/text/keys.test.ts). */

const clean = Object.getOwnPropertyNames(Object.prototype).sort();
const unpolluted = () => expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(clean);

describe("forbidden keys in builtin specs and the trainer's environment", () => {
  it("builtin query options: ?__proto__=… and ?constructor=… are ConfigErrors naming the option", () => {
    for (const q of ["__proto__=1", "constructor=x", "prototype=true", "vocabSize=8&__proto__=polluted"]) {
      expect(() => resolveBuiltin(`builtin:induction?${q}`), q).toThrow(ConfigError);
      try {
        resolveBuiltin(`builtin:induction?${q}`);
      } catch (e) {
        expect(FORBIDDEN_KEYS.has((e as ConfigError).field)).toBe(true);
      }
    }
    unpolluted();
    expect(resolveBuiltin("builtin:induction?vocabSize=16").options.vocabSize).toBe(16);
  });

  it("the trainer's child environment is spelled out: nothing inherited, nothing from a polluted prototype", () => {
    const proto = Object.prototype as Record<string, unknown>;
    process.env.NODE_OPTIONS_PROBE = "x";
    proto.NODE_OPTIONS = "--import=data:text/javascript,0";
    try {
      const env = trainerEnv();
      expect(Object.getPrototypeOf(env)).toBeNull();
      const seen: string[] = [];
      for (const k in env) seen.push(k); // child_process enumerates with for…in
      expect(seen).not.toContain("NODE_OPTIONS");
      expect(seen).not.toContain("NODE_OPTIONS_PROBE");
      expect(
        seen.every((k) => ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "SYSTEMROOT"].includes(k)),
      ).toBe(true);
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete proto.NODE_OPTIONS;
      delete process.env.NODE_OPTIONS_PROBE;
    }
    unpolluted();
  });
});
