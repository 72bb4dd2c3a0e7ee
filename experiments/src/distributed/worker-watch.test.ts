import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { noWorkerHint, workerWatch } from "./worker-watch.ts";

/**
 * The no-worker clock against a model of it, for any sequence of worker counts and gaps: no
 * answer while a worker is there; once none is, null until the grace has passed since the first
 * look without one, then the time without; a worker seen restarts the clock. The hint is logged
 * once, the first time none is seen. (Against real Redis: no-worker.test.ts, acdc-queue.test.ts.)
 */
afterEach(() => {
  vi.useRealTimers();
});

describe("workerWatch", () => {
  it("answers as the model does for any counts and gaps; logs the hint once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        fc.array(
          fc.record({ dt: fc.integer({ min: 0, max: 3000 }), workers: fc.integer({ min: 0, max: 2 }) }),
          {
            maxLength: 30,
          },
        ),
        async (graceMs, steps) => {
          vi.useFakeTimers({ toFake: ["Date"] });
          let now = 1_000_000;
          vi.setSystemTime(now);
          let workers = 0;
          const lines: string[] = [];
          const watch = workerWatch(
            { getWorkersCount: () => Promise.resolve(workers) },
            { redis: "redis://h:1", queue: "q", graceMs, everyMs: 0, log: (l) => lines.push(l) },
          );
          let since: number | null = null;
          for (const s of steps) {
            now += s.dt;
            vi.setSystemTime(now);
            workers = s.workers;
            const got = await watch.check();
            if (s.workers > 0) since = null;
            else since ??= now;
            const expected = since !== null && now - since >= graceMs ? now - since : null;
            expect(got).toBe(expected);
          }
          expect(lines).toHaveLength(steps.some((s) => s.workers === 0) ? 1 : 0);
          for (const l of lines) expect(l).toContain(noWorkerHint("redis://h:1", "q"));
          vi.useRealTimers();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a Redis that cannot count its workers (CLIENT LIST refused) is never taken for one without: null, logged once", async () => {
    const lines: string[] = [];
    const watch = workerWatch(
      { getWorkersCount: () => Promise.reject(new Error("ERR unknown command 'CLIENT'")) },
      { redis: "redis://h:1", queue: "q", graceMs: 0, everyMs: 0, log: (l) => lines.push(l) },
    );
    for (let i = 0; i < 3; i++) expect(await watch.check()).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /cannot count the workers of queue q on redis:\/\/h:1 \(ERR unknown command 'CLIENT'\)/,
    );
  });

  it("asks Redis at most once per everyMs", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(0);
    let asked = 0;
    const watch = workerWatch(
      { getWorkersCount: () => Promise.resolve(++asked) },
      { redis: "redis://h:1", queue: "q", graceMs: 0, everyMs: 500 },
    );
    await Promise.all([watch.check(), watch.check(), watch.check()]);
    vi.setSystemTime(499);
    await watch.check();
    expect(asked).toBe(1);
    vi.setSystemTime(500);
    await watch.check();
    expect(asked).toBe(2);
  });
});
