import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * One download of a blob at a time, across patchbay processes (a pool's workers, two CLI runs):
 * `<cache>/.locks/models--owner--name/<etag>.patchbay.lock`, created exclusively and holding the
 * owner's pid. A lock whose process is gone is stale and taken over. (huggingface_hub locks
 * `<etag>.lock` in the same folder with flock, which node cannot take; the `.incomplete` name is
 * shared, so the two should not download the same file at the same moment.)
 */

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
};

const tryTake = (path: string): boolean => {
  try {
    const fd = openSync(path, "wx");
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== "EEXIST") throw e;
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(path, "utf8"));
    } catch {
      return false; // released meanwhile: try again
    }
    // a lock of a process that is gone (or an empty lock file left by a crash before the write)
    if (!Number.isSafeInteger(owner) || owner <= 0 || !alive(owner)) rmSync(path, { force: true });
    return false;
  }
};

/** Take the lock of one blob, waiting (polling) while another live process holds it; resolves with its release. */
export const acquireBlobLock = async (
  cacheDir: string,
  repoFolderName: string,
  etag: string,
  pollMs = 50,
): Promise<() => void> => {
  const dir = join(cacheDir, ".locks", repoFolderName);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${etag}.patchbay.lock`);
  while (!tryTake(path)) await new Promise((r) => setTimeout(r, pollMs));
  return () => rmSync(path, { force: true });
};
