import { Effect } from "effect";
import { dimSizes, siteCatalog } from "../../sites/index.ts";
import { loadModel } from "../../weights/index.ts";
import { describeQuantization } from "../../weights/quantization.ts";
import { type Flags, required } from "../args.ts";

/**
 * `patchbay sites --model M`: every site with its shape and TransformerLens name, then the model
 * (for GGUF, the types its tensors were stored in: "stored as Q4_K_M: 161 Q4_K, 65 F32, 32 Q6_K").
 */
export const sitesCommand = (f: Flags) =>
  Effect.gen(function* () {
    const { config, quantization: q } = yield* loadModel(required(f, "model"));
    const sizes = dimSizes(config, 0, 0);
    const rows = siteCatalog(config).map((s) => {
      const shape = s.dims.map((d) =>
        d === "batch" || d === "pos" || d === "key_pos" ? d : `${d}=${sizes[d]}`,
      );
      return { site: s.name, shape: `[${shape.join(", ")}]`, tl: s.tl };
    });
    if (f.json === true) {
      const stored = q === undefined ? {} : { quantization: { fileType: q.fileType, counts: q.counts } };
      console.log(JSON.stringify({ model: config.name, sites: rows, ...stored }, null, 1));
      return;
    }
    const w1 = Math.max(...rows.map((r) => r.site.length));
    const w2 = Math.max(...rows.map((r) => r.shape.length));
    console.log(`${"site".padEnd(w1)}  ${"shape".padEnd(w2)}  TransformerLens`);
    for (const r of rows) console.log(`${r.site.padEnd(w1)}  ${r.shape.padEnd(w2)}  ${r.tl}`);
    const stored = q === undefined ? "" : `; stored as ${describeQuantization(q)}`;
    console.log(
      `\n${rows.length} sites; ${config.name}: ${config.nLayers} layers, d_model ${config.dModel}${stored}`,
    );
  });
