/**
 * Side-by-side timing for a noisy shared 2-core machine: the functions run interleaved, one call
 * each per round (after a warm-up round), so a burst of load from elsewhere hits all of them alike;
 * each gets the median of its rounds, in seconds. Rounds continue until both `minRounds` rounds and
 * `minSeconds` have passed.
 */
export const timeSideBySide = async <K extends string>(
  fns: Record<K, () => unknown>,
  minRounds = 5,
  minSeconds = 4,
): Promise<Record<K, number>> => {
  const keys = Object.keys(fns) as K[];
  for (const k of keys) await fns[k]();
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  const start = performance.now();
  let rounds = 0;
  while (rounds < minRounds || performance.now() - start < minSeconds * 1000) {
    for (const k of keys) {
      const t0 = performance.now();
      await fns[k]();
      times[k].push((performance.now() - t0) / 1000);
    }
    if (++rounds >= 200) break;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return Object.fromEntries(keys.map((k) => [k, median(times[k])])) as Record<K, number>;
};

export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
