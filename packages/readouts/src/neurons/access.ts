import { Data } from "effect";

/**
 * Which hosts an HTTP explainer may talk to, and the API key it sends: the user's decision, never
 * the experiment file's. A file names an endpoint (`baseUrl`, `model`); if it could also name the
 * key's variable, a shared file could send any secret in the environment to any host. So:
 *   - requests go only to hosts the user allows (host or host:port, case-insensitive);
 *   - the key is read from a variable the user names, and sent only to those hosts.
 * The experiments CLI takes both from `--http-allow-hosts a,b:8080` / `--http-api-key-env NAME`,
 * or from the user's environment: PATCHBAY_HTTP_ALLOW_HOSTS and PATCHBAY_HTTP_API_KEY_ENV
 * (`httpAccessFromEnv`); code using the API passes an HttpAccess of its own.
 */
export interface HttpAccess {
  readonly allowedHosts: readonly string[];
  /** the key's value (sent as a Bearer token), when the user gave one */
  readonly apiKey?: string;
}

export const ALLOW_HOSTS_ENV = "PATCHBAY_HTTP_ALLOW_HOSTS";
export const API_KEY_ENV_ENV = "PATCHBAY_HTTP_API_KEY_ENV";

/** No host allowed: what a run gets when the user said nothing. */
export const noHttpAccess: HttpAccess = { allowedHosts: [] };

const own = (env: NodeJS.ProcessEnv, k: string): string | undefined =>
  Object.hasOwn(env, k) && typeof env[k] === "string" ? env[k] : undefined;

/**
 * The user's HttpAccess from their environment (see above).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { httpAccessFromEnv } from "@patchbay/readouts";
 *
 * const env = { PATCHBAY_HTTP_ALLOW_HOSTS: "API.example.org, localhost:8080", PATCHBAY_HTTP_API_KEY_ENV: "MY_KEY", MY_KEY: "s3cret" };
 * assert.deepEqual(httpAccessFromEnv(env), { allowedHosts: ["api.example.org", "localhost:8080"], apiKey: "s3cret" });
 * assert.deepEqual(httpAccessFromEnv({}), { allowedHosts: [] });
 * ```
 */
export const httpAccessFromEnv = (env: NodeJS.ProcessEnv = process.env): HttpAccess => {
  const hosts = (own(env, ALLOW_HOSTS_ENV) ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  const keyVar = own(env, API_KEY_ENV_ENV);
  const apiKey = keyVar === undefined || keyVar === "" ? undefined : own(env, keyVar);
  return { allowedHosts: hosts, ...(apiKey !== undefined && apiKey !== "" ? { apiKey } : {}) };
};

/** A request the user has not allowed: names the URL, its host and what is allowed. */
export class ApiAccessError extends Data.TaggedError("ApiAccessError")<{
  readonly url: string;
  readonly host: string;
  readonly allowed: readonly string[];
}> {
  override get message(): string {
    const allowed = this.allowed.length === 0 ? "none" : this.allowed.join(", ");
    return `${this.url}: host ${JSON.stringify(this.host)} is not allowed (allowed: ${allowed}); the user allows hosts with --http-allow-hosts or ${ALLOW_HOSTS_ENV}, an experiment file cannot`;
  }
}

/**
 * null when `url` is http(s) on an allowed host, else the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAccess } from "@patchbay/readouts";
 *
 * const access = { allowedHosts: ["api.example.org"] };
 * assert.equal(checkAccess("https://api.example.org/v1/chat/completions", access), null);
 * assert.equal(checkAccess("https://elsewhere.example/v1", access)?._tag, "ApiAccessError");
 * ```
 */
export const checkAccess = (url: string, access: HttpAccess): ApiAccessError | null => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new ApiAccessError({ url, host: "(not a URL)", allowed: access.allowedHosts });
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return new ApiAccessError({
      url,
      host: `${u.protocol} (http or https only)`,
      allowed: access.allowedHosts,
    });
  const allowed = new Set(access.allowedHosts.map((h) => h.toLowerCase()));
  return allowed.has(u.host.toLowerCase()) || allowed.has(u.hostname.toLowerCase())
    ? null
    : new ApiAccessError({ url, host: u.host, allowed: access.allowedHosts });
};
