import { resolve } from "node:path";

/**
 * Where the compile cache (compile-cache.ts) lives, without loading ORT: the CLI's
 * `--compile-cache DIR` sets this variable for the process, its worker threads and children.
 */
export const COMPILE_CACHE_ENV = "PATCHBAY_COMPILE_CACHE";

/**
 * The cache folder in force: the option, else the PATCHBAY_COMPILE_CACHE environment variable,
 * else none; `null` turns it off whatever the environment says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 *
 * assert.equal(Runtime.compileCacheDir("/tmp/compiled"), "/tmp/compiled");
 * assert.equal(Runtime.compileCacheDir(null), null);
 * ```
 */
export const compileCacheDir = (option: string | null | undefined): string | null => {
  if (option === null) return null;
  const dir = option ?? process.env[COMPILE_CACHE_ENV];
  return dir === undefined || dir === "" ? null : resolve(dir);
};
