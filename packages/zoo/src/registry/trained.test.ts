import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "@patchbay/core/weights";
import { builtinCircuit, ensureBuiltin } from "./index.ts";

describe("trained builtins", () => {
  it("builtin:ioi trains on first use (child process), is cached, and carries its tokenizer and ground truth", () => {
    process.env.PATCHBAY_CACHE = mkdtempSync(join(tmpdir(), "patchbay-cache-"));
    const first = ensureBuiltin("builtin:ioi");
    expect(first.outcome).toBe("built");
    expect(existsSync(join(first.folder, "tokenizer.json"))).toBe(true);
    const training = JSON.parse(readFileSync(join(first.folder, "training.json"), "utf8"));
    expect(JSON.stringify(training)).toMatch(/heldOutAccuracy/);
    const again = ensureBuiltin("builtin:ioi");
    expect(again.outcome).toBe("hit");
    const m = loadModelSync("builtin:ioi");
    expect(m.config.nLayers).toBe(2);
    const truth = builtinCircuit("builtin:ioi").edges!;
    expect(truth.length).toBeGreaterThan(3);
    expect(truth.every((e) => /->/.test(e))).toBe(true);
    expect(truth.some((e) => e.endsWith("->logits"))).toBe(true);
  });
});
