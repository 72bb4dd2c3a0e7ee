import { linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, type Scope } from "effect";
import * as ort from "onnxruntime-node";
import { RuntimeError } from "../errors/index.ts";
import { type Graph, toOnnx } from "../graph/index.ts";
import { numel } from "../tensor/index.ts";
import type { ContextOptions } from "./context.ts";
import type { ExecutionProvider } from "./providers.ts";
import { COMPILE_CACHE_LIMIT_BYTES, cachedSession, compiledKey } from "./compile-cache.ts";
import { compileCacheDir } from "./compile-cache-dir.ts";
import { collectGarbage } from "./gc.ts";
import { checkThreads } from "./threads.ts";

/**
 * ORT sessions for one model, cached per graph variant (the key says which plan built it) and
 * released together when the runtime's Scope closes. Graphs whose weights pass protobuf's 2 GB
 * limit, or that use spilled weights (`Weights.spill`), are written with external data to a
 * temporary folder, removed on release.
 */
export interface RuntimeOptions extends ContextOptions {
  /** Threads for ORT's intra-op pool (default: ORT's choice, one per core). */
  readonly threads?: number;
  /** "cpu" (default) or "cuda" (needs onnxruntime-node's CUDA files installed). */
  readonly executionProvider?: ExecutionProvider;
  /** Force external data for initializers of at least this many bytes (tests use this). */
  readonly externalDataThreshold?: number;
  /**
   * ORT's CPU memory arena: by default on for graphs with less than 100 MB of initializers, off past
   * that. The arena keeps the blocks a run allocated for the next run and grows by doubling: a
   * GPT-2-small-shaped EAP at 8 × 128 stayed at 7.4 GB resident with it against 4.1–4.2 GB
   * without, at the same speed within the noise (BENCHMARKS.md); small models keep it as before.
   */
  readonly memoryArena?: boolean;
  /**
   * A folder for ORT-optimized graphs kept on disk across processes, keyed by structure
   * (compile-cache.ts): a later session for the same graph loads in about 1.3 s instead of
   * optimizing it again (6–11 s for GPT-2's fused attribution graph). Default: the
   * PATCHBAY_COMPILE_CACHE environment variable, else none; `null` turns it off.
   */
  readonly compileCache?: string | null;
}

export interface SessionCache {
  readonly model: string;
  readonly options: RuntimeOptions;
  /**
   * The session for a variant, built from `graph()` on first use. `optimization` is ORT's graph
   * optimization level for it (default "all"): "basic" for a graph whose "all" optimization costs
   * more than it gains (the fused attribution graph).
   */
  readonly get: (
    key: string,
    graph: () => Graph,
    options?: SessionBuildOptions,
  ) => Effect.Effect<ort.InferenceSession, RuntimeError>;
  /** How many sessions are live (for tests of caching). */
  readonly size: () => number;
  /**
   * Release now the sessions whose key starts with `prefix` (a method's own, once it is done with
   * them: its graph's copy of the weights goes back to the machine), returning how many; a later
   * `get` builds them again. Only for sessions no run is using.
   */
  readonly evict: (prefix: string) => Effect.Effect<number>;
}

/** How one session is built. */
export interface SessionBuildOptions {
  readonly optimization?: "basic" | "all";
  /**
   * The bytes the arena rule counts instead of the graph's own initializers: a graph that is one
   * piece of a large model (a single block, as exact patching runs) passes the whole model's
   * weight bytes, since its runs hold activations sized for that model. On GPT-2 small, 25 block
   * sessions each with an arena took exact patching's peak from ≈ 4.3 GB to 7.8 GB.
   */
  readonly arenaBytes?: number;
}

type Entry = Promise<{ session: ort.InferenceSession; dir: string | null }>;

/** Release sessions (and remove their external-data folders); one that failed to build has nothing to release. */
const releaseAll = async (entries: readonly Entry[]): Promise<void> => {
  for (const e of entries) {
    const { session, dir } = await e.catch(() => ({ session: null, dir: null }));
    await session?.release();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
};

/** Initializer bytes from which a session runs without ORT's memory arena (unless `memoryArena` says). */
const ARENA_UNTIL_BYTES = 100 * 1024 * 1024;

const sessionOptions = (
  o: RuntimeOptions,
  b: SessionBuildOptions,
  bytes: number,
): ort.InferenceSession.SessionOptions => ({
  executionProviders: [o.executionProvider ?? "cpu"],
  graphOptimizationLevel: b.optimization ?? "all",
  enableCpuMemArena: o.memoryArena ?? (b.arenaBytes ?? bytes) < ARENA_UNTIL_BYTES,
  ...(o.threads !== undefined ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {}),
});

/**
 * A lowered graph: the model with its external data in memory, or a folder holding both; with a
 * compile cache, the key of its optimized graph there.
 */
type Lowered = { readonly bytes: number; readonly key: string | null } & (
  | { readonly model: Uint8Array; readonly externalData: readonly { path: string; data: Uint8Array }[] }
  | { readonly dir: string }
);

/** A link to `target` at `path`: a hard link (same file system, as the OS temp folder is), else a symlink. */
const link = (target: string, path: string): void => {
  try {
    linkSync(target, path);
  } catch {
    symlinkSync(target, path);
  }
};

/**
 * Lower the graph. Initializers of at least 1 KiB become ONNX external data: by default handed to ORT
 * in memory (views of the host arrays, so the weights are never copied into the protobuf, which
 * costs a second copy of them and about a second per GPT-2-sized graph); with spilled weights, or
 * when `externalDataThreshold` is set, written with the model into a temporary folder (initializers'
 * bytes written, spilled weights linked). Nothing of the graph outlives the session's creation, so the
 * host arrays made while building it are garbage once it is created.
 */
const lower = (
  graph: () => Graph,
  o: RuntimeOptions,
  b: SessionBuildOptions,
  /** the compile cache's folder, or null: only then is the key computed */
  cacheDir: string | null,
): Lowered => {
  const g = graph();
  const bytes = g.initializers.reduce(
    (n, i) => n + (i.data.dtype === "float32" ? numel(i.data.tensor.shape) * 4 : i.data.data.byteLength),
    0,
  );
  const lowered = toOnnx(g, { externalThreshold: o.externalDataThreshold ?? 1024 });
  const key =
    cacheDir === null
      ? null
      : compiledKey(lowered, {
          level: b.optimization ?? "all",
          executionProvider: o.executionProvider ?? "cpu",
        });
  const external = lowered.external ?? [];
  const inMemory = external.flatMap((f) => ("data" in f ? [{ path: f.path, data: f.data }] : []));
  if (o.externalDataThreshold === undefined && inMemory.length === external.length)
    return { bytes, key, model: lowered.model, externalData: inMemory };
  const dir = mkdtempSync(join(tmpdir(), "patchbay-onnx-"));
  try {
    writeFileSync(join(dir, "model.onnx"), lowered.model);
    for (const f of external)
      if ("data" in f) writeFileSync(join(dir, f.path), f.data);
      else link(f.target, join(dir, f.path));
    return { bytes, key, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
};

/** Create the session from the lowered graph with these options (ORT optimizes it then). */
const fromLowered = (lowered: Lowered, options: ort.InferenceSession.SessionOptions) =>
  "model" in lowered
    ? ort.InferenceSession.create(lowered.model, { ...options, externalData: lowered.externalData })
    : ort.InferenceSession.create(join(lowered.dir, "model.onnx"), options);

/**
 * Lower, then create the session: through the compile cache when there is one (its folder is
 * only needed until the session exists). From files, a full GC runs first, so that host garbage
 * (a loaded model's spilled arrays, the graph's) is gone before ORT allocates its own copy of the
 * weights.
 */
const createSession = async (
  graph: () => Graph,
  o: RuntimeOptions,
  b: SessionBuildOptions,
): Promise<{ session: ort.InferenceSession; dir: string | null }> => {
  const cacheDir = compileCacheDir(o.compileCache);
  const lowered = lower(graph, o, b, cacheDir);
  const options = sessionOptions(o, b, lowered.bytes);
  try {
    if ("dir" in lowered) await collectGarbage();
    const session =
      cacheDir !== null && lowered.key !== null
        ? await cachedSession(cacheDir, lowered.key, options, COMPILE_CACHE_LIMIT_BYTES, (opts) =>
            fromLowered(lowered, opts),
          )
        : await fromLowered(lowered, options);
    return { session, dir: "dir" in lowered ? lowered.dir : null };
  } catch (e) {
    if ("dir" in lowered) rmSync(lowered.dir, { recursive: true, force: true });
    throw e;
  }
};

/**
 * ORT sessions for one model, one per graph variant, built on first use and released together\nwhen the enclosing Scope closes (an effect resource). `openModel` opens one for you.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const live = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Weights.loadModel("builtin:induction");
 *       const cache = yield* Runtime.makeSessionCache(model.config.name, { threads: 1 });
 *       yield* Runtime.forward(cache, model, [[1, 2, 3]]);
 *       yield* Runtime.forward(cache, model, [[4, 5]]); // same variant: the session is reused
 *       return cache.size();
 *     }),
 *   ),
 * );
 * assert.equal(live, 1);
 * ```
 */
export const makeSessionCache = (
  model: string,
  options: RuntimeOptions = {},
): Effect.Effect<SessionCache, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const live = new Map<string, Entry>();
      const cache: SessionCache & { release: () => Promise<void> } = {
        model,
        options,
        size: () => live.size,
        get: (key, graph, build = {}) =>
          Effect.tryPromise({
            try: async () => {
              // a backstop: the CLI flag and the experiment field are checked where they are read
              const bad = options.threads === undefined ? null : checkThreads(options.threads, "threads");
              if (bad !== null) throw bad;
              let entry = live.get(key);
              if (entry === undefined) {
                entry = createSession(graph, options, build);
                live.set(key, entry);
                entry.catch(() => live.delete(key));
              }
              return (await entry).session;
            },
            catch: (cause) =>
              new RuntimeError({ model, operation: `creating the ORT session for ${key}`, cause }),
          }),
        evict: (prefix) =>
          Effect.promise(async () => {
            const keys = [...live.keys()].filter((k) => k.startsWith(prefix));
            const entries = keys.map((k) => live.get(k)!);
            for (const k of keys) live.delete(k);
            await releaseAll(entries);
            return keys.length;
          }),
        release: async () => {
          const entries = [...live.values()];
          live.clear();
          await releaseAll(entries);
        },
      };
      return cache;
    }),
    (cache) => Effect.promise(() => (cache as SessionCache & { release: () => Promise<void> }).release()),
  );
