// Run by scripts/consumer/run.mjs with plain `node`, inside a project that installed the packed
// tarballs: patchbay as a user gets it. argv[2]: a model folder.
import { Effect } from "effect";
import { openModel } from "patchbay";

const path = process.argv[2];
const layers = await Effect.runPromise(Effect.scoped(Effect.map(openModel(path), (m) => m.config.nLayers)));
console.log(`consumer: opened ${path} (${layers} layers) with plain node`);
