import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/**
 * Startup of the CLI: `patchbay --help`, `--version` and `logits --model M --ids 1,2,3 --json`,
 * run by the installed bin (compiled JavaScript under plain node) against the same commands through
 * tsx on experiments/src/cli/main.ts (`pnpm patchbay`), N runs each, interleaved (bin, tsx, bin,
 * tsx, … command by command within each round), wall time of the whole process. Prints a markdown
 * table: median and range of each side and the ratio tsx / bin.
 *
 *   tsx packages/patchbay/bench/startup.ts --bin <…/patchbay/dist/bin.js> --model <model> [--runs N]
 *
 * A --bin ending in .ts runs through tsx too (to try the script from source).
 */

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const tsxBin = resolve(repo, "node_modules/.bin/tsx");
const main = resolve(repo, "experiments/src/cli/main.ts");

const { values } = parseArgs({
  options: { bin: { type: "string" }, model: { type: "string" }, runs: { type: "string" } },
  strict: true,
});
if (values.bin === undefined || values.model === undefined) {
  console.error(
    "usage: tsx packages/patchbay/bench/startup.ts --bin PATH/TO/bin.js --model MODEL [--runs N]",
  );
  process.exit(2);
}
const bin = resolve(values.bin);
if (!existsSync(bin)) {
  console.error(`--bin: no file at ${bin}`);
  process.exit(2);
}
const runs = Number(values.runs ?? "10");
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs: expected an integer ≥ 1, found ${JSON.stringify(values.runs)}`);
  process.exit(2);
}

/** How each side starts: the bin under node (through tsx if it is TypeScript), main.ts through tsx. */
const sides = {
  bin: bin.endsWith(".ts") ? [process.execPath, "--import", "tsx", bin] : [process.execPath, bin],
  tsx: [tsxBin, main],
} as const;
type Side = keyof typeof sides;

const commands: readonly (readonly [string, readonly string[]])[] = [
  ["--help", ["--help"]],
  ["--version", ["--version"]],
  ["logits --ids 1,2,3 --json", ["logits", "--model", values.model, "--ids", "1,2,3", "--json"]],
];

const time = (side: Side, args: readonly string[]): number => {
  const [cmd, ...pre] = sides[side];
  const t0 = performance.now();
  const r = spawnSync(cmd, [...pre, ...args], { cwd: repo, encoding: "utf8", maxBuffer: 1 << 28 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0)
    throw new Error(`${side} ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return s;
};

const seconds = new Map<string, number[]>();
for (let round = 0; round < runs; round++)
  for (const [name, args] of commands)
    for (const side of Object.keys(sides) as Side[]) {
      const key = `${name}|${side}`;
      seconds.set(key, [...(seconds.get(key) ?? []), time(side, args)]);
    }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cell = (xs: readonly number[]) =>
  `${median(xs).toFixed(3)} s (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;

console.log(
  `startup, ${runs} run${runs === 1 ? "" : "s"} each, interleaved; bin: ${bin}; model: ${values.model}\n`,
);
console.log("| command | bin (node) median (range) | tsx main.ts median (range) | tsx / bin |");
console.log("|---|---|---|---|");
for (const [name] of commands) {
  const b = seconds.get(`${name}|bin`)!;
  const t = seconds.get(`${name}|tsx`)!;
  console.log(`| \`patchbay ${name}\` | ${cell(b)} | ${cell(t)} | ${(median(t) / median(b)).toFixed(1)}× |`);
}
