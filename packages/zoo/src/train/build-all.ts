/**
 * Train all three zoo models and establish their ground-truth circuits:
 *   npx tsx packages/zoo/src/train/build-all.ts [outDir] [--threads N] [--only name,name]
 * Writes <outDir>/<name>/{config.json, model.safetensors, tokenizer.json, circuit.json,
 * training.json} (default outDir: ./zoo-trained) and prints the curves, timings and circuits.
 */
import { resolve } from "node:path";
import { Effect } from "effect";
import { type BuildReport, buildTrained, TRAINED, type TrainedName } from "./build.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1]!.startsWith("--")));
const outDir = resolve(positional[0] ?? "zoo-trained");
const threads = Number(flag("--threads") ?? 1);
const only = (flag("--only")?.split(",") ?? Object.keys(TRAINED)) as TrainedName[];

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : "—");

const report = (r: BuildReport) => {
  const t = r.training;
  const gt = r.groundTruth;
  console.log(`\n=== ${r.name}: ${r.dir}`);
  console.log(
    `training: ${t.losses.length} steps in ${fmt(t.seconds, 1)} s (${fmt((1000 * t.seconds) / t.losses.length, 1)} ms/step)`,
  );
  console.log("step  train-loss  held-out-loss  held-out-acc");
  for (const p of t.curve)
    console.log(
      `${String(p.step).padStart(4)}  ${fmt(p.trainLoss).padStart(10)}  ${fmt(p.heldOutLoss).padStart(13)}  ${fmt(p.heldOutAccuracy).padStart(12)}`,
    );
  console.log(
    `ground truth (${fmt(r.circuitSeconds, 1)} s, ${gt.layout.edges.length} edges): m(full) ${fmt(gt.full)}, m(∅) ${fmt(gt.empty)}, ` +
      `τ = ${gt.threshold}, ${r.edges.length} edges, faithfulness ${fmt(gt.faithfulness)}`,
  );
  console.log(
    `sweep: ${gt.sweep.map((s) => `τ ${s.threshold}: ${s.edges} edges f ${fmt(s.faithfulness)}`).join("; ")}`,
  );
  const score = new Map(gt.layout.edges.map((e) => [e.name, gt.scores[e.index]!]));
  console.log(`edges: ${r.edges.map((e) => `${e} (${fmt(score.get(e)!, 3)})`).join(", ")}`);
};

for (const name of only) {
  const r = await Effect.runPromise(
    buildTrained(name, resolve(outDir, name), {
      train: {
        threads,
        onEval: (p) =>
          process.stderr.write(
            `${name} step ${p.step}: held-out ${fmt(p.heldOutLoss)} acc ${fmt(p.heldOutAccuracy)}\n`,
          ),
      },
    }),
  );
  report(r);
}
