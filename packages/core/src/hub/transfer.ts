import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { HubError } from "../errors/errors.ts";
import type { FileMetadata } from "./api.ts";
import { blobPath, incompletePath } from "./cache.ts";
import { header, type HubResponse, networkError, send, statusError } from "./http.ts";
import { acquireBlobLock } from "./lock.ts";
import type { HubSettings } from "./settings.ts";

/**
 * One file into blobs/<etag>: streamed into blobs/<etag>.incomplete (the name huggingface_hub
 * uses, so either resumes the other's partial download), resumed with `Range: bytes=N-` (206;
 * a server that answers 200 instead restarts the file), verified against the Hub's sha256 for
 * LFS files (a mismatch deletes the file), then renamed into place (atomic on one file system).
 */

/** Where downloaded bytes go: the file-system seam (tests make writes fail with ENOSPC through it). */
export interface BlobSink {
  readonly write: (chunk: Uint8Array) => void;
  readonly close: () => void;
}

export type OpenSink = (path: string, append: boolean) => BlobSink;

/** The default sink: plain synchronous writes to the .incomplete file. */
export const fileSink: OpenSink = (path, append) => {
  const fd = openSync(path, append ? "a" : "w");
  return {
    write: (chunk) => {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    close: () => closeSync(fd),
  };
};

/** Progress of one file: bytes done of total (total undefined when the server does not say). */
export type OnProgress = (file: string, done: number, total: number | undefined) => void;

export interface TransferOptions {
  /** Attempts after a cut connection, each resuming where the last stopped (default 3). */
  readonly retries?: number;
  readonly timeoutMs?: number;
  readonly onProgress?: OnProgress;
  readonly openSink?: OpenSink;
}

/** A failed write into the cache as a typed error: ENOSPC / EDQUOT is a full disk, anything else an unwritable cache. */
export const writeError = (repo: string, file: string, e: unknown, where: string): HubError => {
  const code = (e as { code?: unknown } | null)?.code;
  const full = code === "ENOSPC" || code === "EDQUOT";
  return new HubError({
    repo,
    file,
    reason: full ? "disk-full" : "cache-unwritable",
    expected: full ? `free space for the download in ${where}` : `a writable cache folder (${where})`,
    found: typeof code === "string" ? code : e instanceof Error ? e.message : String(e),
  });
};

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });

/** Stream a response body into the sink; resolves with the bytes written, fails typed (network or write). */
const drain = (
  res: HubResponse,
  sink: BlobSink,
  start: number,
  ctx: {
    repo: string;
    file: string;
    settings: HubSettings;
    where: string;
    onProgress?: OnProgress;
    total?: number;
  },
): Promise<number> =>
  new Promise((resolve, reject) => {
    let done = start;
    let failed = false;
    const fail = (e: HubError) => {
      if (failed) return;
      failed = true;
      res.body.destroy();
      reject(e);
    };
    res.body.on("data", (chunk: Buffer) => {
      if (failed) return;
      try {
        sink.write(chunk);
      } catch (e) {
        fail(writeError(ctx.repo, ctx.file, e, ctx.where));
        return;
      }
      done += chunk.length;
      ctx.onProgress?.(ctx.file, done, ctx.total);
    });
    let ended = false;
    res.body.on("end", () => {
      ended = true;
      if (!failed) resolve(done);
    });
    res.body.on("close", () => {
      if (!ended)
        fail(
          networkError(ctx.repo, ctx.file, new Error(`connection closed after ${done} bytes`), ctx.settings),
        );
    });
    res.body.on("aborted", () =>
      fail(
        networkError(ctx.repo, ctx.file, new Error(`connection closed after ${done} bytes`), ctx.settings),
      ),
    );
    res.body.on("error", (e) => fail(networkError(ctx.repo, ctx.file, e, ctx.settings)));
  });

/** One attempt: GET (with Range when part of the file is here) and append; resolves with the file's size on disk. */
const attemptOnce = async (
  settings: HubSettings,
  repo: string,
  file: string,
  meta: FileMetadata,
  partial: string,
  opts: TransferOptions,
): Promise<number> => {
  let have = sizeOf(partial);
  if (meta.size !== undefined && have > meta.size) {
    rmSync(partial, { force: true });
    have = 0;
  }
  if (meta.size !== undefined && have === meta.size && have > 0) return have; // complete already: verify only
  const res = await send(settings, {
    repo,
    file,
    method: "GET",
    url: meta.location,
    headers: have > 0 ? { range: `bytes=${have}-` } : {},
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  let append: boolean;
  if (res.status === 206 && (header(res.headers, "content-range") ?? "").startsWith(`bytes ${have}-`))
    append = true;
  else if (res.status === 200 || res.status === 416) {
    append = false; // the server ignored the Range (or refused it): restart the file
    have = 0;
    if (res.status === 416) {
      res.body.resume();
      rmSync(partial, { force: true });
      return attemptOnce(settings, repo, file, meta, partial, opts);
    }
  } else {
    res.body.resume();
    throw statusError(repo, file, res, settings);
  }
  const where = dirname(partial);
  let sink: BlobSink;
  try {
    sink = (opts.openSink ?? fileSink)(partial, append);
  } catch (e) {
    res.body.resume();
    throw writeError(repo, file, e, where);
  }
  try {
    const done = await drain(res, sink, have, {
      repo,
      file,
      settings,
      where,
      ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
      ...(meta.size === undefined ? {} : { total: meta.size }),
    });
    const declared = header(res.headers, "content-length");
    const expected = meta.size ?? (declared === undefined ? undefined : have + Number(declared));
    if (expected !== undefined && done !== expected)
      throw networkError(
        repo,
        file,
        new Error(`connection closed after ${done} of ${expected} bytes`),
        settings,
      );
    return done;
  } finally {
    sink.close();
  }
};

/**
 * Download a file into blobs/<etag> unless it is there; returns the blob's path.
 * `sha256`: the checksum to verify (the API's lfs.sha256; for an LFS file the etag is its sha256 too).
 */
export const downloadBlob = async (
  settings: HubSettings,
  repoDir: string,
  repo: string,
  file: string,
  meta: FileMetadata,
  sha256: string | undefined,
  opts: TransferOptions = {},
): Promise<string> => {
  const blob = blobPath(repoDir, meta.etag);
  if (existsSync(blob)) return blob;
  const partial = incompletePath(repoDir, meta.etag);
  try {
    mkdirSync(dirname(blob), { recursive: true });
  } catch (e) {
    throw writeError(repo, file, e, dirname(blob));
  }
  let release: () => void;
  try {
    release = await acquireBlobLock(dirname(repoDir), basename(repoDir), meta.etag);
  } catch (e) {
    throw writeError(repo, file, e, join(dirname(repoDir), ".locks"));
  }
  try {
    // another process may have finished it while this one waited for the lock
    if (existsSync(blob)) return blob;
    await fetchVerified(settings, repo, file, meta, partial, sha256, opts);
    try {
      renameSync(partial, blob);
    } catch (e) {
      throw writeError(repo, file, e, dirname(blob));
    }
    return blob;
  } finally {
    release();
  }
};

/** Download into the .incomplete file (resuming, retrying after cuts) and check its sha256. */
const fetchVerified = async (
  settings: HubSettings,
  repo: string,
  file: string,
  meta: FileMetadata,
  partial: string,
  sha256: string | undefined,
  opts: TransferOptions,
): Promise<void> => {
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await attemptOnce(settings, repo, file, meta, partial, opts);
      break;
    } catch (e) {
      if (!(e instanceof HubError && e.reason === "network") || attempt >= retries) throw e;
    }
  }
  const expected = sha256 ?? (meta.lfs ? meta.etag : undefined);
  if (expected !== undefined) {
    const got = await sha256File(partial);
    if (got !== expected.toLowerCase()) {
      rmSync(partial, { force: true });
      throw new HubError({
        repo,
        file,
        reason: "checksum",
        expected: `sha256 ${expected}`,
        found: `sha256 ${got} (the download was deleted)`,
      });
    }
  }
};
