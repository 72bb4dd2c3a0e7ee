import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now (for a test's own redis-server). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a !== null ? resolve(a.port) : reject(new Error("no port"))));
    });
  });

/** Resolve when `pattern` appears in the child's output; reject after `ms` or when it exits. */
export const waitFor = (child: ChildProcess, out: () => string, pattern: RegExp, ms: number, what: string) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not seen within ${ms} ms:\n${out()}`)), ms);
    const check = () => {
      if (pattern.test(out())) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code, signal) => {
      clearTimeout(t);
      reject(new Error(`${what}: the process exited (${code ?? signal}):\n${out()}`));
    });
    check();
  });
