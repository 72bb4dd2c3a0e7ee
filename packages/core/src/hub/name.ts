import { HubError } from "../errors/errors.ts";

/**
 * Names that become cache paths or URLs: `hf:owner/name[@revision]` model paths, the file paths
 * and etags a server sends. All are untrusted: anything that could leave the cache folder (`..`,
 * an absolute path, a backslash) or is not a plain name is a HubError "unsafe-name".
 */

/** A parsed `hf:owner/name[@revision]` path. */
export interface HubModelPath {
  /** `owner/name`. */
  readonly repo: string;
  /** The revision as asked: a branch, a tag or a 40-hex commit; `main` when none was given. */
  readonly revision: string;
}

/** The scheme prefix of Hub model paths. */
export const HUB_PREFIX = "hf:";

/**
 * Whether a model path names a Hub model (`hf:owner/name[@revision]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hub } from "@patchbay/core";
 *
 * assert.equal(Hub.isHubPath("hf:EleutherAI/pythia-70m@step3000"), true);
 * assert.equal(Hub.isHubPath("testdata/fixtures/tiny-gpt2"), false);
 * ```
 */
export const isHubPath = (path: string): boolean => path.startsWith(HUB_PREFIX);

/** A part of a repository id: letters, digits, `-`, `_`, `.`; not starting or ending with `-` or `.`, no `--` or `..` (the Hub's own rule). */
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
/** A segment of a revision or a file path: no `/`, `\`, control characters, `..` alone. */
const SEGMENT = /^[A-Za-z0-9_.+=@-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;
/** An etag, as the blob's file name: a git sha1 or an LFS sha256 (hex), or another plain token. */
const ETAG = /^[A-Za-z0-9_.-]{1,128}$/;

/** Whether a revision is a full commit sha (then no refs file is needed). */
export const isCommitSha = (revision: string): boolean => COMMIT.test(revision);

const unsafe = (repo: string, what: string, found: string, file?: string): HubError =>
  new HubError({
    repo,
    ...(file === undefined ? {} : { file }),
    reason: "unsafe-name",
    expected: what,
    found: JSON.stringify(found),
  });

const safeSegments = (s: string): boolean =>
  s.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".." && SEGMENT.test(seg));

/** Check a repository id `owner/name`; throws HubError "unsafe-name". */
export const checkRepoId = (repo: string): string => {
  const parts = repo.split("/");
  const ok =
    parts.length === 2 && parts.every((p) => REPO_PART.test(p) && !p.includes("--") && !p.includes(".."));
  if (!ok) throw unsafe(repo, "a repository id owner/name (letters, digits, - _ .; no -- or ..)", repo);
  return repo;
};

/** Check a revision (branch, tag, `refs/pr/N` or commit); throws HubError "unsafe-name". */
export const checkRevision = (repo: string, revision: string): string => {
  if (revision.length > 255 || !safeSegments(revision))
    throw unsafe(repo, "a revision: a branch, tag or commit (plain names, / between them)", revision);
  return revision;
};

/** Check a file path inside a repository, as a server sent it; throws HubError "unsafe-name". */
export const checkRepoFile = (repo: string, file: string): string => {
  if (file.length > 1024 || !safeSegments(file))
    throw unsafe(
      repo,
      "a relative file path inside the repository (no .., no absolute path, plain names)",
      file,
      file,
    );
  return file;
};

/** Check an etag (the blob's name in the cache) after stripping `W/` and quotes; throws HubError "unsafe-name". */
export const checkEtag = (repo: string, file: string, etag: string): string => {
  if (!ETAG.test(etag) || etag === "." || etag === "..")
    throw unsafe(repo, "an etag that is a plain token (a git sha1 or a sha256)", etag, file);
  return etag;
};

/** Check a commit sha a server sent; throws HubError "protocol". */
export const checkCommit = (repo: string, commit: string | undefined, where: string): string => {
  if (commit === undefined || !COMMIT.test(commit))
    throw new HubError({
      repo,
      reason: "protocol",
      expected: `a 40-hex commit sha in ${where}`,
      found: commit === undefined ? "none" : JSON.stringify(commit.slice(0, 80)),
    });
  return commit;
};

/** An etag header's value as huggingface_hub stores it: without a leading `W/` and without quotes. */
export const normalizeEtag = (raw: string): string => raw.replace(/^W\//, "").replace(/^"|"$/g, "");

/**
 * Parse `hf:owner/name[@revision]`; throws HubError "unsafe-name" for a name that is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHubPath } from "@patchbay/core/hub";
 *
 * assert.deepEqual(parseHubPath("hf:openai-community/gpt2"), { repo: "openai-community/gpt2", revision: "main" });
 * assert.deepEqual(parseHubPath("hf:Qwen/Qwen2.5-0.5B@v1.0"), { repo: "Qwen/Qwen2.5-0.5B", revision: "v1.0" });
 * assert.throws(() => parseHubPath("hf:../etc/passwd"), { _tag: "HubError", reason: "unsafe-name" });
 * ```
 */
export const parseHubPath = (path: string): HubModelPath => {
  const rest = isHubPath(path) ? path.slice(HUB_PREFIX.length) : path;
  const at = rest.indexOf("@");
  const repo = at < 0 ? rest : rest.slice(0, at);
  const revision = at < 0 ? "main" : rest.slice(at + 1);
  checkRepoId(repo);
  checkRevision(repo, revision);
  return { repo, revision };
};
