// Test worker for the pool: serves jobs like pool/worker.ts, but dies (process.exit in the thread,
// or an uncaught exception) on the cell named in workerData.options — a crash in the middle of a job.
import { workerData } from "node:worker_threads";
import { handleJob, serve } from "./protocol.ts";

const opts = (workerData as { options: { crashCell: string; how: "exit" | "throw" } }).options;

serve(async (job) => {
  if (job.cellId === opts.crashCell) {
    if (opts.how === "exit") process.exit(7);
    setTimeout(() => {
      throw new Error(`boom in ${job.cellId}`);
    }, 0);
    return new Promise(() => {});
  }
  return handleJob(job);
});
