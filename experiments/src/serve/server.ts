import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { Effect, Runtime } from "effect";
import { handleApi, type LiveCells } from "./api.ts";
import { checkRequest, type Guard } from "./guard.ts";
import { makeLiveCells } from "./live.ts";
import { ASSETS, pageHtml } from "./page.ts";
import { ServeError } from "./source.ts";

/** A running explorer: where to open it. */
export interface Served {
  readonly url: string;
  readonly port: number;
  readonly token: string;
}

export interface ServeOptions {
  readonly results: string;
  /** 0 (default): any free port */
  readonly port?: number;
  /** the session token (default: 128 random bits, hex) */
  readonly token?: string;
  /**
   * ORT intra-op threads for the cells it opens, in place of each cell's `runtime.threads`
   * (default: the machine's cores; a click's run is what the user waits for, and its numbers agree
   * with one thread's to ≈ 1e-7, not bit for bit)
   */
  readonly threads?: number;
}

/** Request bodies above this are refused (413): a circuit is one character per edge. */
const MAX_BODY = 4 * 1024 * 1024;

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const send = (res: ServerResponse, status: number, type: string, body: string) => {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
};
const sendJson = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`);

const readBody = (req: IncomingMessage): Effect.Effect<unknown, ServeError> =>
  Effect.async<unknown, ServeError>((resume) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c); // past the limit the rest is read and dropped, then refused
    });
    req.on("end", () => {
      if (size > MAX_BODY)
        return resume(
          Effect.fail(
            new ServeError({
              status: 413,
              field: "(body)",
              expected: `at most ${MAX_BODY} bytes`,
              found: `${size} bytes`,
            }),
          ),
        );
      try {
        resume(Effect.succeed(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown));
      } catch (e) {
        resume(
          Effect.fail(
            new ServeError({
              status: 400,
              field: "(body)",
              expected: "JSON",
              found: e instanceof Error ? e.message : String(e),
            }),
          ),
        );
      }
    });
    req.on("error", (e) =>
      resume(
        Effect.fail(
          new ServeError({ status: 400, field: "(body)", expected: "a complete request", found: e.message }),
        ),
      ),
    );
  });

const route = (results: string, guard: Guard, live: LiveCells, req: IncomingMessage, res: ServerResponse) =>
  Effect.gen(function* () {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const asset = ASSETS[url.pathname];
    const refusal = checkRequest({ method, url, headers: req.headers }, guard, asset === undefined);
    if (refusal !== null) return sendJson(res, refusal.status, { error: refusal.error });
    if (asset !== undefined) return send(res, 200, asset.type, asset.body);
    if (url.pathname.startsWith("/api/")) {
      const r = yield* handleApi(results, live, method, url.pathname, () => readBody(req));
      return sendJson(res, r.status, r.body);
    }
    const cell = /^\/cell\/([0-9a-f]{16,128})$/.exec(url.pathname);
    if (url.pathname === "/" || cell !== null) {
      if (method !== "GET") return sendJson(res, 405, { error: "GET only" });
      return send(res, 200, "text/html; charset=utf-8", pageHtml(guard.token, cell?.[1] ?? null));
    }
    return sendJson(res, 404, { error: `nothing at ${url.pathname}` });
  });

/**
 * `patchbay serve`'s server: bound to 127.0.0.1 only, one random session token, every asset
 * served from memory (no network). Closed, with every open cell's sessions, when the scope closes.
 */
export const serve = (opts: ServeOptions) =>
  Effect.gen(function* () {
    const live = yield* makeLiveCells({ threads: opts.threads ?? availableParallelism() });
    const token = opts.token ?? randomBytes(16).toString("hex");
    const runtime = yield* Effect.runtime<never>();
    const guardRef: { guard: Guard | null } = { guard: null };
    const server = yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof createServer>, ServeError>((resume) => {
        const s = createServer((req, res) => {
          Runtime.runPromise(runtime)(route(opts.results, guardRef.guard!, live, req, res)).catch(
            (e: unknown) => {
              if (!res.headersSent)
                sendJson(res, 500, {
                  error: `internal error: ${e instanceof Error ? e.message : String(e)}`,
                });
            },
          );
        });
        s.once("error", (e) =>
          resume(
            Effect.fail(
              new ServeError({
                status: 400,
                field: "--port",
                expected: "a free port on 127.0.0.1",
                found: e.message,
              }),
            ),
          ),
        );
        s.listen(opts.port ?? 0, "127.0.0.1", () => resume(Effect.succeed(s)));
      }),
      (s) =>
        Effect.async<void>((resume) => {
          s.closeAllConnections();
          s.close(() => resume(Effect.void));
        }),
    );
    const port = (server.address() as AddressInfo).port;
    guardRef.guard = { token, port };
    return { url: `http://127.0.0.1:${port}/?token=${token}`, port, token } satisfies Served;
  });
