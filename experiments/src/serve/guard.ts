import { timingSafeEqual } from "node:crypto";

/**
 * Who may talk to `patchbay serve`. The server binds to the loopback interface only, and on top of
 * that every request must
 *   - name the server itself in Host (127.0.0.1, localhost or [::1] with its port): a page on
 *     another site that rebinds its DNS name to 127.0.0.1 sends its own name, and is refused;
 *   - if it carries Origin, come from the server's own origin (no cross-site requests, and the
 *     server sends no CORS headers, so other origins can read nothing);
 *   - carry the session token: in the query of the page's URL (`?token=…`, what the user opens),
 *     and in the `x-patchbay-token` header of every API call (the page reads it from its meta tag).
 * The token is 128 random bits, compared in constant time.
 */
export interface Guard {
  readonly token: string;
  readonly port: number;
}

export interface Refusal {
  readonly status: 400 | 403 | 405;
  readonly error: string;
}

export const TOKEN_HEADER = "x-patchbay-token";

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

/** The Host values that name this server. */
const ownHosts = (port: number): string[] => LOOPBACK.map((h) => `${h}:${port}`);

const sameToken = (given: string | null, token: string): boolean => {
  if (given === null) return false;
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(token, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
};

export interface GuardedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const header = (r: GuardedRequest, name: string): string | null => {
  const v = r.headers[name];
  return typeof v === "string" ? v : Array.isArray(v) ? (v[0] ?? null) : null;
};

/**
 * null when the request may proceed, else why not. `needsToken`: the page and the API do, static
 * assets (code and styles, no data) do not.
 */
export const checkRequest = (r: GuardedRequest, g: Guard, needsToken: boolean): Refusal | null => {
  const host = header(r, "host");
  if (host === null || !ownHosts(g.port).includes(host.toLowerCase()))
    return {
      status: 403,
      error: `Host ${JSON.stringify(host)} is not this server (expected 127.0.0.1:${g.port})`,
    };
  const origin = header(r, "origin");
  if (origin !== null && !ownHosts(g.port).some((h) => origin.toLowerCase() === `http://${h}`))
    return { status: 403, error: `cross-origin request from ${JSON.stringify(origin)} refused` };
  const site = header(r, "sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none")
    return { status: 403, error: `a ${site} request is refused (Sec-Fetch-Site)` };
  if (!needsToken) return null;
  const given = r.url.pathname.startsWith("/api/")
    ? header(r, TOKEN_HEADER)
    : r.url.searchParams.get("token");
  if (!sameToken(given, g.token))
    return { status: 403, error: "missing or wrong session token (open the URL patchbay serve printed)" };
  return null;
};
