import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import { arch, cpus } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { LoweredModel } from "../graph/index.ts";
import { fsyncPath } from "../text/atomic.ts";

/*
 * The on-disk cache of ORT-optimized graphs. Creating a session spends most of its time in ORT's
 * graph optimizer: on the GPT-2-small-shaped fused attribution graph, 9–11 s at ORT's `basic`
 * level against 2–4.6 s to load the graph it produced in a fresh process (BENCHMARKS.md). So the first session
 * for a graph saves what ORT made of it (`optimizedModelFilePath`, initializers in one external
 * file), and a later one, in any process, loads that with optimization off.
 *
 * Keyed by structure, exactly: sha256 over the lowered ONNX model (every node, name and shape,
 * and where each external initializer lies), every initializer's bytes, the optimization level,
 * the execution provider, ORT's version, and the CPU (level `all` may pick kernels and layouts
 * for it). A changed weight or builder gives a new key, never a stale graph. An entry is written
 * into a temporary folder beside it and renamed into place, so a crash leaves no half entry; an
 * entry ORT cannot load is removed and built again. Entries are large (a GPT-2-small fused
 * attribution graph is 1.25 GB), so the folder keeps at most
 * COMPILE_CACHE_LIMIT_BYTES: past it, the least recently used entries go.
 *
 * The folder is the user's: `RuntimeOptions.compileCache`, else the PATCHBAY_COMPILE_CACHE
 * environment variable; none means no cache. Experiment files cannot set it.
 */

/** The most the cache folder holds; the least recently used entries are removed past it. */
export const COMPILE_CACHE_LIMIT_BYTES = 16 * 1024 ** 3;

const FORMAT = "patchbay-compiled/1";
const ENTRY = /^[0-9a-f]{64}$/;
/** A `.building-` folder older than this was left by a killed process. */
const STALE_BUILD_MS = 60 * 60 * 1000;
const MODEL_FILE = "model.onnx";
const WEIGHTS_FILE = "weights.bin";

/**
 * The CPU an `all`-level graph's kernels and layouts were chosen for: architecture, model and, on
 * Linux, the instruction-set flags (a virtual machine may hide some of a model's).
 */
const cpuIdentity = (): string => {
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "";
  } catch {
    // not Linux
  }
  return `${arch()}\0${cpus()[0]?.model ?? "unknown cpu"}\0${flags}`;
};

/** sha256 of a file's bytes, read in 16 MiB pieces (spilled weights are gigabytes). */
const hashFile = (h: ReturnType<typeof createHash>, path: string): void => {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(16 * 1024 * 1024);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
};

/** The key of a lowered graph under these session options (see the file's comment). */
export const compiledKey = (
  lowered: LoweredModel,
  session: { readonly level: string; readonly executionProvider: string },
): string => {
  const h = createHash("sha256");
  h.update(
    `${FORMAT}\0${ort.env.versions.common}\0${session.level}\0${session.executionProvider}\0${cpuIdentity()}\0`,
  );
  h.update(lowered.model);
  const hashed = new Set<string>();
  for (const f of lowered.external ?? []) {
    h.update(`\0${f.path}\0`);
    if ("data" in f) h.update(f.data);
    else if (!hashed.has(f.target)) {
      hashed.add(f.target);
      hashFile(h, f.target);
    }
  }
  return h.digest("hex");
};

/**
 * A session for the graph keyed `key`: loaded from the cache folder when an entry is there,
 * else made by `create` (given the options that make ORT save its optimized graph) and stored.
 */
export const cachedSession = async (
  dir: string,
  key: string,
  options: ort.InferenceSession.SessionOptions,
  /** the most the folder keeps (COMPILE_CACHE_LIMIT_BYTES; tests pass less) */
  limit: number,
  create: (options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>,
): Promise<ort.InferenceSession> => {
  const entry = join(dir, key);
  if (existsSync(join(entry, MODEL_FILE)))
    try {
      const session = await ort.InferenceSession.create(join(entry, MODEL_FILE), {
        ...options,
        graphOptimizationLevel: "disabled",
      });
      const now = new Date();
      try {
        utimesSync(entry, now, now); // recently used
      } catch {
        // pruned by another process since: the session is loaded all the same
      }
      return session;
    } catch {
      rmSync(entry, { recursive: true, force: true }); // damaged or from elsewhere: build it again
    }
  mkdirSync(dir, { recursive: true });
  const building = mkdtempSync(join(dir, ".building-"));
  try {
    // ORT warns that an `all`-level graph may hold kernels chosen for this CPU: the key has the CPU
    const session = await create({
      ...options,
      logSeverityLevel: 3,
      optimizedModelFilePath: join(building, MODEL_FILE),
      extra: {
        session: {
          optimized_model_external_initializers_file_name: WEIGHTS_FILE,
          optimized_model_external_initializers_min_size_in_bytes: "1024",
        },
      },
    });
    try {
      // on disk before it has its name: a crash never leaves an entry with a part of its weights
      // (and the next process's load does not compete with the write-back: 7 s against 11 s here)
      for (const f of readdirSync(building)) fsyncPath(join(building, f));
      fsyncPath(building);
      try {
        renameSync(building, entry);
        fsyncPath(dir);
      } catch {
        // another process stored the same key first: its entry is the same graph
      }
      prune(dir, key, limit);
    } catch (e) {
      await session.release(); // the caller never sees it
      throw e;
    }
    return session;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
};

/** Size of an entry's files (it holds no folders). */
const entryBytes = (path: string): number =>
  readdirSync(path).reduce((n, f) => n + statSync(join(path, f)).size, 0);

/**
 * Keep the folder within `limit` bytes: remove the least recently used entries (never
 * `keep`, the one just stored) and building folders a killed process left. Another process may
 * remove an entry at the same time; whatever is already gone is skipped.
 */
const prune = (dir: string, keep: string, limit: number): void => {
  const entries: { path: string; used: number; bytes: number }[] = [];
  for (const name of readdirSync(dir))
    try {
      const path = join(dir, name);
      const used = statSync(path).mtimeMs;
      if (name.startsWith(".building-") && Date.now() - used > STALE_BUILD_MS)
        rmSync(path, { recursive: true, force: true });
      else if (ENTRY.test(name) && name !== keep) entries.push({ path, used, bytes: entryBytes(path) });
    } catch {
      // removed meanwhile
    }
  let total = entries.reduce((n, e) => n + e.bytes, 0);
  try {
    total += entryBytes(join(dir, keep));
  } catch {
    // another process pruned it already
  }
  for (const e of entries.sort((a, b) => a.used - b.used)) {
    if (total <= limit) break;
    rmSync(e.path, { recursive: true, force: true });
    total -= e.bytes;
  }
};
