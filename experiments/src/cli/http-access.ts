import { ALLOW_HOSTS_ENV, API_KEY_ENV_ENV } from "@patchbay/readouts";
import type { Flags } from "@patchbay/core/cli";

/**
 * `--http-allow-hosts a,b:8080` and `--http-api-key-env NAME` (run, worker): the user's answer to
 * "which hosts may an HTTP explainer in these experiment files call, and with which key". They
 * set the user-environment variables the readouts package reads (PATCHBAY_HTTP_ALLOW_HOSTS,
 * PATCHBAY_HTTP_API_KEY_ENV) for this process and the worker threads it starts; a file can name
 * an endpoint but never the key or the allowed hosts (README: trust model). The flags are declared
 * in commands.ts.
 */
export const applyHttpAccessFlags = (f: Flags): void => {
  const hosts = f["http-allow-hosts"];
  const keyVar = f["http-api-key-env"];
  if (typeof hosts === "string") process.env[ALLOW_HOSTS_ENV] = hosts;
  if (typeof keyVar === "string") process.env[API_KEY_ENV_ENV] = keyVar;
};
