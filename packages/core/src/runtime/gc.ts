import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A full garbage collection, then resume. Used before ORT takes its copy of a large model's
 * weights: host arrays that just became garbage (a loaded model's weights once spilled, the
 * arrays materialised while building the graph) would otherwise still be resident while ORT
 * allocates, since V8 collects on its own schedule, not on the native allocations it cannot see.
 * Waits for the next macrotask first, so that arrays a WeakRef handed out during the build (kept
 * alive to the end of that job) are collectable.
 */
export const collectGarbage = async (): Promise<void> => {
  await new Promise((resolve) => setImmediate(resolve));
  gc()();
};

let cached: (() => void) | undefined;
const gc = (): (() => void) => {
  if (cached !== undefined) return cached;
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === "function") cached = global.gc;
  else {
    // --expose-gc for a fresh context only: the process's own global stays as it was
    setFlagsFromString("--expose-gc");
    cached = runInNewContext("gc") as () => void;
  }
  return cached;
};
