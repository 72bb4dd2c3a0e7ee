import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { HubError, type HubFailure } from "../errors/errors.ts";
import type { HubSettings } from "./settings.ts";

/**
 * HTTP for the Hub: one request at a time, redirects followed by hand (a CDN redirect for LFS
 * files), the token sent only to the endpoint's own origin, and every failure a HubError that
 * names the repository and file but never the token.
 */

export interface HubRequest {
  readonly repo: string;
  readonly file?: string;
  readonly method: "GET" | "HEAD";
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Idle socket timeout, ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Follow redirects (default: yes, up to 5). HEAD of an LFS file is not followed: its Location is the download URL. */
  readonly follow?: boolean;
}

export interface HubResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  readonly url: string;
  readonly body: IncomingMessage;
}

/** A header's single value. */
export const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Replace the token wherever a server's text might echo it. */
export const redact = (text: string, settings: HubSettings): string =>
  settings.token === undefined ? text : text.split(settings.token).join("***");

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

/** A failure of the connection itself as a HubError "network" (message and code only, never headers). */
export const networkError = (
  repo: string,
  file: string | undefined,
  cause: unknown,
  settings: HubSettings,
): HubError => {
  const code = (cause as { code?: unknown } | null)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  return new HubError({
    repo,
    ...(file === undefined ? {} : { file }),
    reason: "network",
    expected: `a response from ${settings.endpoint}`,
    found: redact(typeof code === "string" && NETWORK_CODES.has(code) ? `${code} (${text})` : text, settings),
  });
};

/** A Hub error status as a HubError, read from the status and the `X-Error-Code` header as huggingface_hub reads them. */
export const statusError = (
  repo: string,
  file: string | undefined,
  res: { status: number; headers: IncomingHttpHeaders },
  settings: HubSettings,
): HubError => {
  const code = header(res.headers, "x-error-code");
  const serverSays = header(res.headers, "x-error-message");
  const found = redact(
    `HTTP ${res.status}${code === undefined ? "" : ` ${code}`}${serverSays === undefined ? "" : `: ${serverSays}`}`,
    settings,
  );
  const fail = (reason: HubFailure, expected: string): HubError =>
    new HubError({ repo, ...(file === undefined ? {} : { file }), reason, expected, found });
  if (code === "GatedRepo")
    return fail("gated", "access to a gated repository: accept its conditions on the Hub, then set HF_TOKEN");
  if (code === "RevisionNotFound")
    return fail("revision-not-found", "a branch, tag or commit of the repository");
  if (code === "EntryNotFound") return fail("file-not-found", "the file in the repository at this revision");
  if (res.status === 401)
    return fail(
      "unauthorized",
      settings.token === undefined
        ? "a public repository, or HF_TOKEN set (the repository is private or does not exist)"
        : "a token that grants access (HF_TOKEN was refused: the repository is private or does not exist)",
    );
  if (code === "RepoNotFound" || (res.status === 404 && file === undefined))
    return fail("repo-not-found", "an existing repository owner/name");
  if (res.status === 403) return fail("forbidden", "a token with read access to the repository");
  if (res.status === 404) return fail("file-not-found", "the file in the repository at this revision");
  return fail("protocol", "a 2xx or 3xx answer");
};

/** One request, following redirects; resolves with the response (any status), fails with a HubError "network". */
export const send = (settings: HubSettings, req: HubRequest): Promise<HubResponse> => {
  const endpointOrigin = new URL(settings.endpoint).origin;
  const go = (url: string, hops: number): Promise<HubResponse> =>
    new Promise<HubResponse>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(
          new HubError({
            repo: req.repo,
            reason: "protocol",
            expected: "a valid URL",
            found: redact(url, settings),
          }),
        );
        return;
      }
      const headers: Record<string, string> = {
        "user-agent": "patchbay",
        "accept-encoding": "identity",
        ...req.headers,
      };
      if (settings.token !== undefined && target.origin === endpointOrigin)
        headers.authorization = `Bearer ${settings.token}`;
      const make = target.protocol === "https:" ? httpsRequest : httpRequest;
      const r = make(target, { method: req.method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        const location = header(res.headers, "location");
        if (req.follow !== false && status >= 300 && status < 400 && location !== undefined) {
          res.resume();
          if (hops >= 5) {
            reject(
              new HubError({
                repo: req.repo,
                ...(req.file === undefined ? {} : { file: req.file }),
                reason: "protocol",
                expected: "at most 5 redirects",
                found: "more",
              }),
            );
            return;
          }
          go(new URL(location, target).toString(), hops + 1).then(resolve, reject);
          return;
        }
        resolve({ status, headers: res.headers, url: target.toString(), body: res });
      });
      r.setTimeout(req.timeoutMs ?? 30_000, () => {
        r.destroy(
          Object.assign(new Error(`no data for ${req.timeoutMs ?? 30_000} ms`), { code: "ETIMEDOUT" }),
        );
      });
      r.on("error", (e) => reject(networkError(req.repo, req.file, e, settings)));
      r.end();
    });
  return go(req.url, 0);
};

/** Read a whole (small) body as text; a cut connection is a HubError "network". */
export const readText = (
  res: HubResponse,
  repo: string,
  settings: HubSettings,
  file?: string,
): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.body.on("data", (c: Buffer) => chunks.push(c));
    res.body.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.body.on("error", (e) => reject(networkError(repo, file, e, settings)));
    res.body.on("aborted", () =>
      reject(networkError(repo, file, new Error("connection closed mid-response"), settings)),
    );
  });
