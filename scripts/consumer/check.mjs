// Run by scripts/consumer/run.mjs with plain `node`, inside a project that installed the packed
// tarballs: patchbay as a user gets it. argv[2]: a model folder (tl-induction-2L, or a fixture).
// Opens it through the Promise API, captures a site, runs EAP on an induction task file and
// asserts the scores equal the installed CLI's (`patchbay circuit --json`), bit for bit.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { circuits, open } from "patchbay";

const path = process.argv[2];
const bin = createRequire(import.meta.url)
  .resolve("patchbay/package.json")
  .replace(/package\.json$/, "dist/bin.js");
const cli = (...args) =>
  execFileSync(process.execPath, [bin, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });

// --version: the installed package's version
const version = JSON.parse(readFileSync(bin.replace(/dist\/bin\.js$/, "package.json"), "utf8")).version;
assert.equal(cli("--version").trim(), version);

const model = await open(path, { threads: 1 });
try {
  const { nLayers, nHeads, vocabSize } = model.config;
  // a captured site has the documented shape [batch, heads, query, key]
  const ids = [1, 2, 3, 4, 5];
  const r = await model.run(ids, { captures: ["blocks.0.attn.hook_pattern"] });
  const pattern = r.captures["blocks.0.attn.hook_pattern"];
  assert.deepEqual([...pattern.shape], [1, nHeads, ids.length, ids.length]);

  // an induction task, as ids: clean [A, A], corrupted [A, B]; at positions 16…30 the answer is
  // the token after the repeat in clean, the competing token the one in corrupted
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % Math.min(vocabSize, 500);
  };
  const lines = Array.from({ length: 8 }, () => {
    const a = Array.from({ length: 16 }, next);
    const b = Array.from({ length: 16 }, next);
    const clean = [...a, ...a];
    const corrupted = [...a, ...b];
    const positions = Array.from({ length: 15 }, (_, j) => 16 + j);
    return JSON.stringify({
      clean_ids: clean,
      corrupted_ids: corrupted,
      positions,
      answer_ids: positions.map((p) => clean[p + 1]),
      wrong_ids: positions.map((p) => corrupted[p + 1]),
    });
  });
  writeFileSync("task.jsonl", `${lines.join("\n")}\n`);

  const api = await circuits.eap(model, "task.jsonl", { checkSample: 0 });
  const json = JSON.parse(
    cli("circuit", "--model", path, "--task", "task.jsonl", "--method", "eap", "--json"),
  );
  const apiScores = Object.fromEntries(api.edges.map((e, i) => [e, api.scores[i]]));
  assert.deepEqual(apiScores, json.scores);
  assert.deepEqual([...api.circuit].sort(), [...json.edges].sort());
  console.log(
    `consumer: plain node opened ${path} (${nLayers} layers), captured blocks.0.attn.hook_pattern, ` +
      `EAP over ${api.edges.length} edges equals the CLI's bit for bit (circuit: ${api.circuit.length} edges)`,
  );
} finally {
  await model.close();
}
