import { Effect } from "effect";
import { dimSizes, siteCatalog } from "../../sites/index.ts";
import { loadModel } from "../../weights/index.ts";
import { type Flags, required } from "../args.ts";

/** `patchbay sites --model M`: every site with its shape and TransformerLens name. */
export const sitesCommand = (f: Flags) =>
  Effect.gen(function* () {
    const { config } = yield* loadModel(required(f, "model"));
    const sizes = dimSizes(config, 0, 0);
    const rows = siteCatalog(config).map((s) => {
      const shape = s.dims.map((d) =>
        d === "batch" || d === "pos" || d === "key_pos" ? d : `${d}=${sizes[d]}`,
      );
      return { site: s.name, shape: `[${shape.join(", ")}]`, tl: s.tl };
    });
    if (f.json === true) {
      console.log(JSON.stringify({ model: config.name, sites: rows }, null, 1));
      return;
    }
    const w1 = Math.max(...rows.map((r) => r.site.length));
    const w2 = Math.max(...rows.map((r) => r.shape.length));
    console.log(`${"site".padEnd(w1)}  ${"shape".padEnd(w2)}  TransformerLens`);
    for (const r of rows) console.log(`${r.site.padEnd(w1)}  ${r.shape.padEnd(w2)}  ${r.tl}`);
    console.log(`\n${rows.length} sites; ${config.name}: ${config.nLayers} layers, d_model ${config.dModel}`);
  });
