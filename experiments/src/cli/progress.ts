import type { RunEvent } from "../run/experiment.ts";

const bar = (done: number, total: number, width = 28) => {
  const k = total === 0 ? width : Math.round((done / total) * width);
  return `[${"█".repeat(k)}${"░".repeat(width - k)}]`;
};

const seconds = (s: number) =>
  s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

/** Progress on stderr: a bar with ETA redrawn in place on a TTY, else one plain line per cell. */
export const progressReporter = (stream: NodeJS.WriteStream = process.stderr) => {
  const tty = stream.isTTY === true;
  const t0 = performance.now();
  let computed = 0;
  let computedSeconds = 0;
  let total = 0;
  let doneCount = 0;
  let current = "";
  const draw = () => {
    const left = total - doneCount;
    const eta = computed > 0 ? `ETA ${seconds((computedSeconds / computed) * left)}` : "ETA —";
    stream.write(
      `\r\x1b[2K${bar(doneCount, total)} ${doneCount}/${total}  ${eta}  elapsed ${seconds((performance.now() - t0) / 1000)}${current ? `  ${current}` : ""}`,
    );
  };
  return (e: RunEvent) => {
    switch (e._tag) {
      case "planned":
        total = e.total;
        if (!tty) stream.write(`run ${e.runId}: ${e.total} cells, ${e.done} already done\n`);
        else draw();
        return;
      case "cell-start":
        current = `cell ${e.index + 1} ${e.cellId.slice(0, 12)}…`;
        if (tty) draw();
        return;
      case "cell-done":
        doneCount = e.position;
        if (!e.skipped) {
          computed++;
          computedSeconds += e.seconds;
        }
        current = "";
        if (tty) {
          draw();
          if (doneCount === total) stream.write("\n");
        } else
          stream.write(
            `cell ${e.position}/${e.total} ${e.cellId.slice(0, 12)} ${e.skipped ? "skipped (already in the store)" : `done in ${e.seconds.toFixed(1)} s`}\n`,
          );
    }
  };
};
