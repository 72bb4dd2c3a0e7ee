import { homedir } from "node:os";
import { join } from "node:path";

/** Where and how the Hub is reached: read from the environment as huggingface_hub reads it. */
export interface HubSettings {
  /** `HF_ENDPOINT`, default https://huggingface.co (no trailing slash). */
  readonly endpoint: string;
  /** `HF_TOKEN`: sent as `Authorization: Bearer …`; never logged, never in an error or a result. */
  readonly token?: string;
  /** `HF_HUB_OFFLINE` = 1 / true / yes / on: no request at all, the cache only. */
  readonly offline: boolean;
  /** `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  readonly cacheDir: string;
}

const isTrue = (v: string | undefined): boolean =>
  v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.trim().toUpperCase());

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v.trim() === "" ? undefined : v.trim();

/**
 * The Hub settings of an environment (default: this process's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hubSettings } from "@patchbay/core/hub";
 *
 * const s = hubSettings({ HF_HOME: "/data/hf", HF_HUB_OFFLINE: "1" });
 * assert.equal(s.cacheDir, "/data/hf/hub");
 * assert.equal(s.endpoint, "https://huggingface.co");
 * assert.equal(s.offline, true);
 * assert.equal(hubSettings({ HF_HUB_CACHE: "/c", HF_HOME: "/h" }).cacheDir, "/c"); // HF_HUB_CACHE wins
 * ```
 */
export const hubSettings = (env: Readonly<Record<string, string | undefined>> = process.env): HubSettings => {
  const home = nonEmpty(env.HF_HOME);
  const cacheDir =
    nonEmpty(env.HF_HUB_CACHE) ??
    (home !== undefined ? join(home, "hub") : join(homedir(), ".cache", "huggingface", "hub"));
  const token = nonEmpty(env.HF_TOKEN);
  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? "https://huggingface.co").replace(/\/+$/, ""),
    ...(token === undefined ? {} : { token }),
    offline: isTrue(env.HF_HUB_OFFLINE),
    cacheDir,
  };
};
