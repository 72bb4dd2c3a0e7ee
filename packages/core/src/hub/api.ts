import { HubError } from "../errors/errors.ts";
import { header, readText, send, statusError } from "./http.ts";
import { checkCommit, checkEtag, checkRepoFile, normalizeEtag } from "./name.ts";
import type { HubSettings } from "./settings.ts";

/**
 * The Hub's two endpoints patchbay uses:
 *   GET  {endpoint}/api/models/{repo}/revision/{revision}?blobs=true   the commit and the file list
 *        (`sha`, `siblings: [{rfilename, size, lfs: {sha256, size}}]`)
 *   HEAD {endpoint}/{repo}/resolve/{commit}/{file}                     one file's metadata: X-Repo-Commit,
 *        ETag (X-Linked-Etag for LFS files: their sha256), X-Linked-Size / Content-Length, and for
 *        LFS files a redirect whose Location is where the bytes are (a CDN)
 */

/** A file in a repository, as the API lists it. */
export interface RepoFile {
  readonly path: string;
  readonly size?: number;
  /** For LFS files: the sha256 of the content, the checksum every download is verified against. */
  readonly sha256?: string;
}

export interface RepoInfo {
  readonly commit: string;
  readonly files: ReadonlyMap<string, RepoFile>;
}

/** What a HEAD on a file's resolve URL says. */
export interface FileMetadata {
  readonly commit: string;
  /** The blob's name: the etag without quotes (the sha256 for LFS files). */
  readonly etag: string;
  readonly size?: number;
  /** Where to GET the bytes (a CDN URL for LFS files). */
  readonly location: string;
  /** Whether the Hub stores the file in LFS (X-Linked-Etag present): its etag is its sha256. */
  readonly lfs: boolean;
}

const encodePath = (file: string): string => file.split("/").map(encodeURIComponent).join("/");

/** The resolve URL of a file at a revision. */
export const resolveUrl = (settings: HubSettings, repo: string, revision: string, file: string): string =>
  `${settings.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;

const badAnswer = (repo: string, expected: string, found: string): HubError =>
  new HubError({ repo, reason: "protocol", expected, found });

/** The commit a revision points at and the files of the repository there. */
export const repoInfo = async (
  settings: HubSettings,
  repo: string,
  revision: string,
  timeoutMs?: number,
): Promise<RepoInfo> => {
  const url = `${settings.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await send(settings, {
    repo,
    method: "GET",
    url,
    headers: { accept: "application/json" },
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  if (res.status !== 200) {
    res.body.resume();
    throw statusError(repo, undefined, res, settings);
  }
  const text = await readText(res, repo, settings);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badAnswer(repo, "JSON from the model API", `${text.length} bytes that are not JSON`);
  }
  const o = json as { sha?: unknown; siblings?: unknown };
  const commit = checkCommit(repo, typeof o.sha === "string" ? o.sha : undefined, "the API's sha");
  if (!Array.isArray(o.siblings))
    throw badAnswer(repo, "a siblings list in the model API's answer", typeof o.siblings);
  const files = new Map<string, RepoFile>();
  for (const s of o.siblings as unknown[]) {
    const e = s as { rfilename?: unknown; size?: unknown; lfs?: { sha256?: unknown } | null };
    if (typeof e?.rfilename !== "string")
      throw badAnswer(repo, "siblings with an rfilename", JSON.stringify(s));
    const path = checkRepoFile(repo, e.rfilename);
    const sha = e.lfs?.sha256;
    files.set(path, {
      path,
      ...(typeof e.size === "number" ? { size: e.size } : {}),
      ...(typeof sha === "string" ? { sha256: checkEtag(repo, path, sha.toLowerCase()) } : {}),
    });
  }
  return { commit, files };
};

/** HEAD a file's resolve URL (redirects to the CDN are not followed: their Location is the download URL). */
export const fileMetadata = async (
  settings: HubSettings,
  repo: string,
  commit: string,
  file: string,
  timeoutMs?: number,
): Promise<FileMetadata> => {
  let url = resolveUrl(settings, repo, commit, file);
  for (let hop = 0; ; hop++) {
    const res = await send(settings, {
      repo,
      file,
      method: "HEAD",
      url,
      follow: false,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    res.body.resume();
    const location = header(res.headers, "location");
    const repoCommit = header(res.headers, "x-repo-commit");
    // a same-origin redirect without metadata (a renamed repository) is followed; a CDN redirect carries the metadata
    if (
      res.status >= 300 &&
      res.status < 400 &&
      location !== undefined &&
      repoCommit === undefined &&
      hop < 5
    ) {
      url = new URL(location, url).toString();
      continue;
    }
    if (res.status >= 400 || res.status < 200) throw statusError(repo, file, res, settings);
    const linked = header(res.headers, "x-linked-etag");
    const rawEtag = linked ?? header(res.headers, "etag");
    if (rawEtag === undefined)
      throw new HubError({ repo, file, reason: "protocol", expected: "an ETag header", found: "none" });
    const sizeText = header(res.headers, "x-linked-size") ?? header(res.headers, "content-length");
    const size = sizeText === undefined ? undefined : Number(sizeText);
    return {
      commit: checkCommit(repo, repoCommit, "the X-Repo-Commit header"),
      etag: checkEtag(repo, file, normalizeEtag(rawEtag)),
      ...(size !== undefined && Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
      location: location === undefined ? url : new URL(location, url).toString(),
      lfs: linked !== undefined,
    };
  }
};
