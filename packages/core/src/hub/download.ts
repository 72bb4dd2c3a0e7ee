import { join } from "node:path";
import { Effect } from "effect";
import { HubError, type HubFailure } from "../errors/errors.ts";
import { fileMetadata, type RepoInfo, repoInfo } from "./api.ts";
import {
  CONFIG,
  cachedCommit,
  INDEX,
  linkSnapshotFile,
  missingFromSnapshot,
  OPTIONAL_FILES,
  repoFolder,
  SINGLE,
  shardsOf,
  snapshotDir,
  snapshotHas,
  writeRef,
} from "./cache.ts";
import { isCommitSha, parseHubPath } from "./name.ts";
import { ttyProgress } from "./progress.ts";
import { type HubSettings, hubSettings } from "./settings.ts";
import { downloadBlob, type TransferOptions, writeError } from "./transfer.ts";

/** The exact revision a Hub model was loaded at: recorded in LoadedModel and in experiment results. */
export interface HubRevision {
  /** `owner/name`. */
  readonly repo: string;
  /** The revision as asked (`main` by default): a branch, a tag or a commit. */
  readonly requested: string;
  /** The 40-hex commit it resolved to. */
  readonly commit: string;
}

/** A model's snapshot folder in the cache (config.json, weights, tokenizer files) and its revision. */
export interface HubSnapshot extends HubRevision {
  readonly folder: string;
}

export interface DownloadOptions extends TransferOptions {
  /** Default: read from the environment (hubSettings()). */
  readonly settings?: HubSettings;
  /** A progress bar on stderr when it is a terminal (default true; never on a pipe or a file). */
  readonly progress?: boolean;
}

/**
 * The snapshot of a `hf:` path from the cache alone, with no request: the commit from
 * refs/<revision> (or the revision itself when it is a commit sha), and every file a model needs
 * present. Throws HubError (`reason`: "offline" under HF_HUB_OFFLINE, else "not-cached") naming
 * what is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { cachedSnapshotSync, hubSettings } from "@patchbay/core/hub";
 *
 * // a cache laid out as huggingface_hub writes it: blobs, a snapshot of links, refs/main
 * const cache = mkdtempSync(join(tmpdir(), "hf-"));
 * const repo = join(cache, "models--acme--tiny");
 * const commit = "0123456789abcdef0123456789abcdef01234567";
 * mkdirSync(join(repo, "blobs"), { recursive: true });
 * mkdirSync(join(repo, "refs"));
 * mkdirSync(join(repo, "snapshots", commit), { recursive: true });
 * for (const [file, etag] of [["config.json", "aaaa"], ["model.safetensors", "bbbb"]]) {
 *   writeFileSync(join(repo, "blobs", etag), "{}");
 *   symlinkSync(`../../blobs/${etag}`, join(repo, "snapshots", commit, file));
 * }
 * writeFileSync(join(repo, "refs", "main"), commit);
 * const snap = cachedSnapshotSync("hf:acme/tiny", hubSettings({ HF_HUB_CACHE: cache }));
 * assert.equal(snap.commit, commit);
 * assert.equal(snap.folder, join(repo, "snapshots", commit));
 * assert.throws(() => cachedSnapshotSync("hf:acme/tiny@v2", hubSettings({ HF_HUB_CACHE: cache })), {
 *   _tag: "HubError",
 *   reason: "not-cached",
 * });
 * ```
 */
export const cachedSnapshotSync = (
  path: string,
  settings: HubSettings = hubSettings(),
  reason: Extract<HubFailure, "offline" | "not-cached"> = settings.offline ? "offline" : "not-cached",
): HubSnapshot => {
  const { repo, revision } = parseHubPath(path);
  const repoDir = repoFolder(settings.cacheDir, repo);
  const why =
    reason === "offline"
      ? "(HF_HUB_OFFLINE is set: nothing is downloaded)"
      : "(a synchronous load reads only the cache: load it once with loadModel / openModel, which download it)";
  const commit = cachedCommit(repoDir, revision);
  if (commit === null)
    throw new HubError({
      repo,
      reason,
      expected: `refs/${revision} in ${repoDir} ${why}`,
      found: "the revision is not in the cache",
    });
  const folder = snapshotDir(repoDir, commit);
  const missing = missingFromSnapshot(repo, folder);
  if (missing.length > 0)
    throw new HubError({
      repo,
      reason,
      expected: `${missing.join(", ")} in ${folder} ${why}`,
      found: `missing: ${missing.join(", ")}`,
    });
  return { repo, requested: revision, commit, folder };
};

const isComplete = (repo: string, folder: string): boolean => {
  try {
    return missingFromSnapshot(repo, folder).length === 0;
  } catch {
    return false;
  }
};

const notListed = (repo: string, file: string, expected: string): HubError =>
  new HubError({
    repo,
    file,
    reason: "file-not-found",
    expected,
    found: "not in the repository's file list",
  });

/** The download itself (a Promise: the Effect boundary is downloadModel). */
export const downloadSnapshot = async (path: string, opts: DownloadOptions = {}): Promise<HubSnapshot> => {
  const settings = opts.settings ?? hubSettings();
  const { repo, revision } = parseHubPath(path);
  if (settings.offline) return cachedSnapshotSync(path, settings, "offline");
  const repoDir = repoFolder(settings.cacheDir, repo);
  // a commit whose snapshot is complete is immutable: no request at all
  if (isCommitSha(revision) && isComplete(repo, snapshotDir(repoDir, revision)))
    return { repo, requested: revision, commit: revision, folder: snapshotDir(repoDir, revision) };
  let info: RepoInfo;
  try {
    info = await repoInfo(settings, repo, revision, opts.timeoutMs);
  } catch (e) {
    // the Hub is unreachable: a complete snapshot of the revision in the cache will do (as huggingface_hub does)
    if (e instanceof HubError && e.reason === "network") {
      const commit = cachedCommit(repoDir, revision);
      if (commit !== null && isComplete(repo, snapshotDir(repoDir, commit)))
        return { repo, requested: revision, commit, folder: snapshotDir(repoDir, commit) };
    }
    throw e;
  }
  const { commit } = info;
  const folder = snapshotDir(repoDir, commit);
  const bar = opts.onProgress === undefined && opts.progress !== false ? ttyProgress() : undefined;
  const transfer: TransferOptions = { ...opts, ...(bar === undefined ? {} : { onProgress: bar }) };
  const fetchFile = async (file: string): Promise<void> => {
    if (snapshotHas(folder, file)) return; // already here (ours or huggingface_hub's)
    const meta = await fileMetadata(settings, repo, commit, file, opts.timeoutMs);
    const listed = info.files.get(file)?.sha256;
    if (listed !== undefined && meta.lfs && listed !== meta.etag)
      throw new HubError({
        repo,
        file,
        reason: "protocol",
        expected: `X-Linked-Etag equal to the API's lfs.sha256 ${listed}`,
        found: meta.etag,
      });
    await downloadBlob(settings, repoDir, repo, file, meta, listed, transfer);
    try {
      linkSnapshotFile(repoDir, commit, file, meta.etag);
    } catch (e) {
      throw writeError(repo, file, e, folder);
    }
  };
  if (!info.files.has(CONFIG)) throw notListed(repo, CONFIG, "config.json in the repository");
  await fetchFile(CONFIG);
  if (info.files.has(SINGLE)) await fetchFile(SINGLE);
  else if (info.files.has(INDEX)) {
    await fetchFile(INDEX);
    for (const shard of shardsOf(repo, join(folder, INDEX))) {
      if (!info.files.has(shard)) throw notListed(repo, shard, `the shard ${INDEX} names`);
      await fetchFile(shard);
    }
  } else
    throw notListed(repo, SINGLE, `${SINGLE} or ${INDEX} (patchbay reads safetensors weights from the Hub)`);
  for (const file of OPTIONAL_FILES) if (info.files.has(file)) await fetchFile(file);
  try {
    writeRef(repoDir, revision, commit);
  } catch (e) {
    throw writeError(repo, `refs/${revision}`, e, repoDir);
  }
  return { repo, requested: revision, commit, folder };
};

/**
 * Download a `hf:owner/name[@revision]` model into the Hugging Face cache (or find it there) and
 * return its snapshot folder and the exact commit. Reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE
 * and HF_HUB_CACHE / HF_HOME; fails with a HubError saying why (401, 403, gated, 404, network,
 * disk full, bad checksum, offline with nothing cached).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { downloadModel, hubSettings } from "@patchbay/core/hub";
 *
 * // offline, with an empty cache: a typed error naming what is missing, and no request made
 * const settings = hubSettings({ HF_HUB_CACHE: mkdtempSync(join(tmpdir(), "hf-")), HF_HUB_OFFLINE: "1" });
 * const error = await Effect.runPromise(Effect.flip(downloadModel("hf:openai-community/gpt2", { settings })));
 * assert.equal(error._tag, "HubError");
 * assert.equal(error.reason, "offline");
 * assert.match(error.message, /refs\/main/);
 * ```
 */
export const downloadModel = (
  path: string,
  opts: DownloadOptions = {},
): Effect.Effect<HubSnapshot, HubError> =>
  Effect.catchAll(Effect.tryPromise({ try: () => downloadSnapshot(path, opts), catch: (e) => e }), (e) =>
    e instanceof HubError ? Effect.fail(e) : Effect.die(e),
  );
