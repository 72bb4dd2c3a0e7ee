import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1 (tests only, never exported): the model
 * API (`/api/models/{repo}/revision/{rev}`) and the resolve endpoint (`/{repo}/resolve/{rev}/{file}`)
 * with the Hub's headers (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code),
 * `.safetensors` files stored "in LFS" (a 302 to a second, CDN path that honours Range with 206),
 * and switches to fail: cut a transfer after N bytes, ignore Range, corrupt a file, require a
 * token, gate a repository, refuse every request.
 */

export interface FakeRepo {
  readonly repo: string;
  /** Branch or tag → commit. */
  readonly refs: Readonly<Record<string, string>>;
  /** Commit → files (path → bytes). */
  readonly commits: Readonly<Record<string, ReadonlyMap<string, Uint8Array>>>;
  readonly private?: boolean;
  readonly gated?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
  readonly authorization?: string;
}

export interface FakeHub {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  /** The token that grants access to private and gated repositories. */
  token: string;
  /** Close the socket after this many body bytes of the next `times` CDN transfers. */
  cut: { bytes: number; times: number } | null;
  /** Answer a Range request with 200 and the whole file. */
  ignoreRange: boolean;
  /** Serve these CDN blobs (by sha256) with their first byte flipped, headers unchanged. */
  corrupt: Set<string>;
  /** Destroy every connection without an answer. */
  refuseAll: boolean;
  /** Accept every request and never answer. */
  stall: boolean;
  close(): Promise<void>;
}

export const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
/** The git blob id the Hub sends as ETag for a file not in LFS. */
export const gitBlobSha = (b: Uint8Array): string =>
  createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

export const isLfs = (path: string): boolean => path.endsWith(".safetensors");

/** The ETag the cache names a file's blob by (huggingface_hub's rule: X-Linked-Etag for LFS files, else ETag). */
export const etagOf = (path: string, bytes: Uint8Array): string =>
  isLfs(path) ? sha256Hex(bytes) : gitBlobSha(bytes);

/** A fixture folder's files as a repository's files. */
export const folderFiles = (folder: string): Map<string, Uint8Array> =>
  new Map(
    readdirSync(folder)
      .filter((f) => f !== "expected.json")
      .map((f) => [f, new Uint8Array(readFileSync(join(folder, f)))] as const),
  );

/** A fake commit sha, from a label. */
export const commitOf = (label: string): string => createHash("sha1").update(label).digest("hex");

export const startFakeHub = async (repos: readonly FakeRepo[]): Promise<FakeHub> => {
  const byName = new Map(repos.map((r) => [r.repo, r]));
  const blobs = new Map<string, Uint8Array>();
  for (const r of repos)
    for (const files of Object.values(r.commits))
      for (const [p, b] of files) if (isLfs(p)) blobs.set(sha256Hex(b), b);

  const fail = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { "X-Error-Code": code, "X-Error-Message": message, "Content-Type": "text/plain" });
    res.end(message);
  };
  /** Auth as the Hub does it: a private repository is a 401 RepoNotFound without the token; a gated one 401/403 GatedRepo. */
  const denied = (r: FakeRepo | undefined, req: IncomingMessage, res: ServerResponse): boolean => {
    const auth = req.headers.authorization;
    const ok = auth === `Bearer ${hub.token}`;
    if (r === undefined) {
      fail(res, ok ? 404 : 401, "RepoNotFound", "Repository not found");
      return true;
    }
    if (r.gated === true && !ok) {
      fail(res, auth === undefined ? 401 : 403, "GatedRepo", "Access to this model is restricted");
      return true;
    }
    if (r.private === true && !ok) {
      fail(res, 401, "RepoNotFound", `Invalid credentials in Authorization header ${auth ?? ""}`);
      return true;
    }
    return false;
  };
  const commitFor = (r: FakeRepo, rev: string): string | undefined =>
    r.refs[rev] ?? (r.commits[rev] !== undefined ? rev : undefined);

  const serveCdn = (req: IncomingMessage, res: ServerResponse, sha: string) => {
    const original = blobs.get(sha);
    if (original === undefined) return fail(res, 404, "EntryNotFound", "no such blob");
    let body = original;
    if (hub.corrupt.has(sha)) {
      body = new Uint8Array(original);
      body[0] = body[0]! ^ 0xff;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    let start = 0;
    if (m !== null && !hub.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { "Content-Range": `bytes */${body.length}` });
        return res.end();
      }
      res.writeHead(206, {
        "Content-Length": body.length - start,
        "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}`,
        "Accept-Ranges": "bytes",
      });
    } else res.writeHead(200, { "Content-Length": body.length, "Accept-Ranges": "bytes" });
    const rest = body.subarray(start);
    if (hub.cut !== null && hub.cut.times > 0 && rest.length > hub.cut.bytes) {
      hub.cut.times -= 1;
      res.write(rest.subarray(0, hub.cut.bytes), () => res.socket?.destroy());
      return;
    }
    res.end(rest);
  };

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    hub.requests.push({
      method: req.method ?? "",
      url: url.pathname,
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
      ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
    });
    if (hub.refuseAll) {
      req.socket.destroy();
      return;
    }
    if (hub.stall) return;
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (parts[0] === "cdn") return serveCdn(req, res, parts[1] ?? "");
    if (parts[0] === "api" && parts[1] === "models" && parts[4] === "revision") {
      const r = byName.get(`${parts[2]}/${parts[3]}`);
      if (denied(r, req, res)) return;
      const commit = commitFor(r!, parts.slice(5).join("/"));
      if (commit === undefined) return fail(res, 404, "RevisionNotFound", "Invalid rev id");
      const siblings = [...r!.commits[commit]!].map(([p, b]) => ({
        rfilename: p,
        size: b.length,
        ...(isLfs(p) ? { lfs: { sha256: sha256Hex(b), size: b.length, pointerSize: 134 } } : {}),
      }));
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(
        JSON.stringify({ id: r!.repo, sha: commit, siblings, gated: r!.gated === true ? "manual" : false }),
      );
    }
    if (parts[2] === "resolve") {
      const r = byName.get(`${parts[0]}/${parts[1]}`);
      if (denied(r, req, res)) return;
      const commit = commitFor(r!, parts[3] ?? "");
      if (commit === undefined) return fail(res, 404, "RevisionNotFound", "Invalid rev id");
      const file = parts.slice(4).join("/");
      const bytes = r!.commits[commit]!.get(file);
      if (bytes === undefined) return fail(res, 404, "EntryNotFound", `${file} does not exist`);
      if (isLfs(file)) {
        const sha = sha256Hex(bytes);
        res.writeHead(302, {
          Location: `/cdn/${sha}`,
          "X-Repo-Commit": commit,
          ETag: `"${gitBlobSha(new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\n`))}"`,
          "X-Linked-Etag": `"${sha}"`,
          "X-Linked-Size": String(bytes.length),
          "Content-Length": "0",
        });
        return res.end();
      }
      res.writeHead(200, {
        "X-Repo-Commit": commit,
        ETag: `"${gitBlobSha(bytes)}"`,
        "Content-Length": bytes.length,
      });
      return res.end(req.method === "HEAD" ? undefined : bytes);
    }
    fail(res, 404, "RepoNotFound", "not found");
  };

  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const hub: FakeHub = {
    endpoint: `http://127.0.0.1:${port}`,
    requests: [],
    token: "hf_secretTokenValue123",
    cut: null,
    ignoreRange: false,
    corrupt: new Set(),
    refuseAll: false,
    stall: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return hub;
};
