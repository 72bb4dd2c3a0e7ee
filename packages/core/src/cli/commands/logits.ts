import { Effect } from "effect";
import { attempt, InputError } from "../../errors/index.ts";
import { forward, openModel } from "../../runtime/index.ts";
import { type Flags, openOptions, required, UsageError } from "../args.ts";

const parseIds = (s: string): number[] =>
  s.split(",").map((x, i) => {
    const n = Number(x.trim());
    if (x.trim() === "" || !Number.isInteger(n)) {
      throw new InputError({
        field: `--ids[${i}]`,
        expected: "an integer token id",
        found: JSON.stringify(x),
      });
    }
    return n;
  });

/** `patchbay logits --model M --ids 1,2,3 --json`: {"logits": [[...one row per position...]]}. */
export const logitsCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ids = yield* attempt(() => parseIds(required(f, "ids")), InputError, UsageError);
      const model = yield* openModel(required(f, "model"), openOptions(f));
      const { logits } = yield* forward(model.sessions, model, [ids]);
      const V = model.config.vocabSize;
      const rows = ids.map((_, p) => Array.from(logits.data.subarray(p * V, (p + 1) * V)));
      if (f.json === true) console.log(JSON.stringify({ logits: rows }));
      else
        rows.forEach((r, p) => {
          const top = r.indexOf(Math.max(...r));
          console.log(`pos ${p}: id ${ids[p]} → argmax ${top} (logit ${r[top]!.toFixed(4)})`);
        });
    }),
  );
