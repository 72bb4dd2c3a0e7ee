// Worker-thread bootstrap: Node 20 does not apply `--import tsx` from a Worker's execArgv to the
// worker's own entry, so the worker registers tsx's ESM loader itself, then imports the
// TypeScript module named in workerData.entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
