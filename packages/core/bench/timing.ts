/**
 * Median wall time of `f` in seconds: warm up, then repeat until both `minRuns` runs and
 * `minSeconds` have passed. The median resists the noise of a shared 2-core machine.
 */
export const timeIt = async (f: () => unknown, minRuns = 5, minSeconds = 2, warmup = 2): Promise<number> => {
  for (let i = 0; i < warmup; i++) await f();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minSeconds * 1000) {
    const t0 = performance.now();
    await f();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 200) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
};

export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
