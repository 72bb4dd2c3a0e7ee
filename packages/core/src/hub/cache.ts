import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { HubError } from "../errors/errors.ts";
import { writeFileAtomicSync } from "../text/atomic.ts";
import { checkRepoFile, isCommitSha } from "./name.ts";

/**
 * The Hugging Face cache layout, shared with Python's huggingface_hub in both directions
 * (https://huggingface.co/docs/hub/local-cache):
 *
 *   <cache>/models--<owner>--<name>/
 *     blobs/<etag>                  the bytes; the etag without quotes (an LFS file's is its sha256)
 *     blobs/<etag>.incomplete       a download in progress (resumed with a Range request)
 *     refs/<revision>               the commit sha the revision pointed to (no newline)
 *     snapshots/<commit>/<path>     relative symlinks to ../../blobs/<etag>
 *
 * A revision that is already a commit sha needs no refs file.
 */

/** The files a model needs: config, weights (single or sharded), and the ones read when present. */
export const CONFIG = "config.json";
export const SINGLE = "model.safetensors";
export const INDEX = "model.safetensors.index.json";
/** Tokenizer and generation files, downloaded when the repository has them. */
export const OPTIONAL_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "generation_config.json",
] as const;

/** `models--owner--name`, the repository's folder in the cache. */
export const repoFolder = (cacheDir: string, repo: string): string =>
  join(cacheDir, `models--${repo.split("/").join("--")}`);

export const blobPath = (repoDir: string, etag: string): string => join(repoDir, "blobs", etag);

export const incompletePath = (repoDir: string, etag: string): string =>
  `${blobPath(repoDir, etag)}.incomplete`;

export const snapshotDir = (repoDir: string, commit: string): string => join(repoDir, "snapshots", commit);

/** The commit a revision resolves to in the cache: itself for a commit sha, else refs/<revision>; null when unknown. */
export const cachedCommit = (repoDir: string, revision: string): string | null => {
  if (isCommitSha(revision)) return revision;
  const ref = join(repoDir, "refs", revision);
  if (!existsSync(ref)) return null;
  const commit = readFileSync(ref, "utf8").trim();
  return isCommitSha(commit) ? commit : null;
};

/** Record that a revision points at a commit (nothing to write when the revision is the commit). */
export const writeRef = (repoDir: string, revision: string, commit: string): void => {
  if (revision === commit) return;
  const ref = join(repoDir, "refs", revision);
  writeFileAtomicSync(ref, commit, { mkdir: true });
};

/**
 * Link snapshots/<commit>/<file> to blobs/<etag> by a relative symlink, replacing what was there
 * (made under a temporary name and renamed over the pointer: atomic when processes race).
 */
export const linkSnapshotFile = (repoDir: string, commit: string, file: string, etag: string): string => {
  const pointer = join(snapshotDir(repoDir, commit), file);
  mkdirSync(dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  symlinkSync(relative(dirname(pointer), blobPath(repoDir, etag)), tmp);
  try {
    renameSync(tmp, pointer);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return pointer;
};

/** Whether a snapshot file is present and its blob too (a dangling link counts as absent). */
export const snapshotHas = (folder: string, file: string): boolean => existsSync(join(folder, file));

/** The shard files a sharded index names (checked as repository paths). */
export const shardsOf = (repo: string, indexFile: string): string[] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(indexFile, "utf8"));
  } catch (e) {
    throw new HubError({
      repo,
      file: INDEX,
      reason: "protocol",
      expected: "a JSON index with a weight_map",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map))
    throw new HubError({
      repo,
      file: INDEX,
      reason: "protocol",
      expected: "a weight_map object {tensor: shard file}",
      found: typeof map,
    });
  const shards = new Set<string>();
  for (const v of Object.values(map)) {
    if (typeof v !== "string")
      throw new HubError({
        repo,
        file: INDEX,
        reason: "protocol",
        expected: "shard file names",
        found: typeof v,
      });
    shards.add(checkRepoFile(repo, v));
  }
  return [...shards].sort();
};

/** The files a snapshot lacks to be loadable (config.json, the weights and every shard); empty when complete. */
export const missingFromSnapshot = (repo: string, folder: string): string[] => {
  const missing = snapshotHas(folder, CONFIG) ? [] : [CONFIG];
  if (snapshotHas(folder, SINGLE)) return missing;
  if (!snapshotHas(folder, INDEX)) return [...missing, `${SINGLE} (or ${INDEX})`];
  return [...missing, ...shardsOf(repo, join(folder, INDEX)).filter((s) => !snapshotHas(folder, s))];
};
