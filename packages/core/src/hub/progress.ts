import type { OnProgress } from "./transfer.ts";

/**
 * A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal (a log file
 * or a pipe gets nothing).
 */
export const ttyProgress = (stream: NodeJS.WriteStream = process.stderr): OnProgress | undefined => {
  if (stream.isTTY !== true) return undefined;
  let last = 0;
  return (file, done, total) => {
    const now = Date.now();
    const finished = total !== undefined && done >= total;
    if (!finished && now - last < 100) return;
    last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const width = 24;
    const frac = total === undefined || total === 0 ? 0 : Math.min(1, done / total);
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const size = total === undefined ? `${mb(done)} MB` : `${mb(done)}/${mb(total)} MB`;
    stream.write(`\r${file} [${bar}] ${size}${finished ? "\n" : ""}`);
  };
};
