import { Effect } from "effect";
import { gradcheck } from "../../engine/index.ts";
import { openModel } from "../../runtime/index.ts";
import { type Flags, intFlag, openOptions, required } from "../args.ts";

/** `patchbay gradcheck --model M [--seed S] [--coords K] [--json]`: autodiff vs finite differences. */
export const gradcheckCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const model = yield* openModel(required(f, "model"), openOptions(f));
      const rows = yield* gradcheck(model, {
        seed: intFlag(f, "seed", 0),
        coords: intFlag(f, "coords", 3, 1),
      });
      if (f.json === true) {
        console.log(JSON.stringify({ model: model.config.name, rows }, null, 1));
        return;
      }
      const w = Math.max(...rows.map((r) => r.target.length));
      console.log(
        `${"kind".padEnd(7)} ${"target".padEnd(w)}  max relative error (autodiff vs Richardson-extrapolated central FD, float32)`,
      );
      for (const r of rows)
        console.log(
          `${r.kind.padEnd(7)} ${r.target.padEnd(w)}  ${r.maxRelError.toExponential(2)}  (${r.coords} coords)`,
        );
      const worst = Math.max(...rows.map((r) => r.maxRelError));
      console.log(`\nworst: ${worst.toExponential(2)} over ${rows.length} targets`);
    }),
  );
