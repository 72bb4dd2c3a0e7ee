import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.ts";
import { readJsonObject } from "./fields.ts";

/** The forbidden-key check (text/keys.ts) where a checkpoint's config.json is read. */

const clean = Object.getOwnPropertyNames(Object.prototype).sort();
const unpolluted = () => expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(clean);

describe("forbidden keys in config.json", () => {
  it("config.json with a forbidden key is a ConfigError naming the file and field", () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-keys-"));
    const file = join(dir, "config.json");
    writeFileSync(file, '{"n_layer": 2, "rope_scaling": {"__proto__": {"polluted": 1}}}');
    expect(() => readJsonObject(file)).toThrow(ConfigError);
    try {
      readJsonObject(file);
    } catch (e) {
      expect((e as ConfigError).field).toBe("rope_scaling.__proto__");
      expect((e as ConfigError).file).toBe(file);
    }
    unpolluted();
  });
});
