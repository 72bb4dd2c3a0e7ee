import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ResultsStoreError } from "./errors.ts";
import { makeFolder, removeStaleTemps, writeAtomic } from "./store.ts";

/**
 * Every way a write to the results store can fail is one typed ResultsStoreError naming the path,
 * and none of them hangs. What this machine can simulate: /proc (a folder that cannot hold
 * folders), a file where a folder should be, a 300-byte name, a NUL byte, and — when the tests
 * may mount (root in a container usually can) — a read-only tmpfs (EROFS) and a 64 KiB tmpfs
 * (ENOSPC). EACCES needs a non-root user (root ignores permission bits): tested only then.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-store-"));
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted) spawnSync("umount", [m]);
  rmSync(dir, { recursive: true, force: true });
});

/** A tmpfs mounted at a fresh folder, or null when this process may not mount. */
const tmpfs = (name: string, options: string): string | null => {
  const at = join(dir, name);
  mkdirSync(at);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", at], { encoding: "utf8" });
  if (r.status !== 0) {
    console.warn(
      `*** cannot mount a tmpfs here (${r.stderr.trim() || r.error?.message}): ${name} SKIPPED ***`,
    );
    return null;
  }
  mounted.push(at);
  return at;
};

const storeFailure = (f: () => unknown): ResultsStoreError => {
  const t0 = performance.now();
  try {
    f();
  } catch (e) {
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(e).toBeInstanceOf(ResultsStoreError);
    return e as ResultsStoreError;
  }
  throw new Error("the write succeeded");
};

describe("results store writes: typed errors, no hangs, nothing left behind", () => {
  it("node's own recursive mkdir loops forever under /proc; makeFolder fails at once with ENOENT", () => {
    // the bug this replaces (node ≤ 22 on Linux): killed after 2 s, still looping
    const node = spawnSync(
      process.execPath,
      ["-e", 'require("fs").mkdirSync("/proc/x/y", { recursive: true })'],
      {
        timeout: 2000,
      },
    );
    expect(node.signal).toBe("SIGTERM");
    const e = storeFailure(() => makeFolder("/proc/x/cells"));
    expect(e).toMatchObject({ path: "/proc/x", code: "ENOENT", operation: "creating the folder" });
    expect(storeFailure(() => writeAtomic("/proc/x/cells/a.json", "{}\n")).code).toBe("ENOENT");
  });

  it("a file where a folder should be (ENOTDIR), a name longer than 255 bytes, a NUL byte", () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const notDir = storeFailure(() => writeAtomic(join(file, "cells", "c.json"), "{}\n"));
    expect(notDir).toMatchObject({ path: file, code: "ENOTDIR" });
    expect(notDir.message).toContain("a file is in the way");
    expect(storeFailure(() => makeFolder(file)).code).toBe("ENOTDIR");
    const long = storeFailure(() => writeAtomic(join(dir, "n".repeat(300), "c.json"), "{}\n"));
    expect(long.code).toBe("ENAMETOOLONG");
    expect(storeFailure(() => writeAtomic(join(dir, "a\0b", "c.json"), "{}\n")).code).toBe("NUL");
    expect(storeFailure(() => removeStaleTemps(file)).code).toBe("ENOTDIR");
  });

  it("a read-only file system (EROFS)", () => {
    const ro = tmpfs("ro", "ro,size=64k");
    if (ro === null) return;
    const e = storeFailure(() => writeAtomic(join(ro, "cells", "c.json"), "{}\n"));
    expect(e).toMatchObject({ path: join(ro, "cells"), code: "EROFS" });
    expect(e.message).toContain("read-only");
  });

  it("a full file system (ENOSPC): the failed write leaves no temporary file, and frees its space", () => {
    const small = tmpfs("small", "size=64k");
    if (small === null) return;
    const e = storeFailure(() => writeAtomic(join(small, "cells", "big.json"), "x".repeat(256 * 1024)));
    expect(e).toMatchObject({ path: join(small, "cells", "big.json"), code: "ENOSPC", operation: "writing" });
    expect(readdirSync(join(small, "cells"))).toEqual([]);
    writeAtomic(join(small, "cells", "small.json"), "{}\n");
    expect(readFileSync(join(small, "cells", "small.json"), "utf8")).toBe("{}\n");
  });

  it("permission denied (EACCES), when not running as root", () => {
    if (process.getuid?.() === 0) {
      console.warn("*** running as root: permission bits do not stop writes; EACCES SKIPPED ***");
      return;
    }
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o555 });
    expect(storeFailure(() => writeAtomic(join(locked, "cells", "c.json"), "{}\n")).code).toBe("EACCES");
  });

  it("makeFolder makes every missing folder, and accepts existing ones", () => {
    const deep = join(dir, "a", "b", "c");
    makeFolder(deep);
    makeFolder(deep);
    expect(existsSync(deep)).toBe(true);
    execFileSync("ln", ["-s", join(dir, "a"), join(dir, "link")]);
    makeFolder(join(dir, "link", "b", "d")); // through a symbolic link to a folder
    expect(existsSync(join(dir, "a", "b", "d"))).toBe(true);
  });
});
