import { Effect } from "effect";
import { InputError } from "../../errors/index.ts";
import { mulberry32 } from "../../model/index.ts";
import { generate, openModel, requireTokenizer } from "../../runtime/index.ts";
import { type Flags, intFlag, numberFlag, openOptions, required, UsageError } from "../args.ts";

/** `patchbay generate --model M --prompt TEXT --max-tokens N [--temperature T --seed S]`. */
export const generateCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const prompt = required(f, "prompt");
      const maxTokens = intFlag(f, "max-tokens", 32, 1);
      const temperature = numberFlag(f, "temperature", 0);
      const seed = intFlag(f, "seed", 0);
      // greedy decoding draws nothing: a seed there would be ignored, so it is refused
      if (temperature === 0 && f.seed !== undefined)
        throw new UsageError({
          message:
            "--seed: only sampling (--temperature > 0) draws random numbers; greedy decoding takes no seed",
        });
      const model = yield* openModel(required(f, "model"), openOptions(f));
      const tok = yield* requireTokenizer(model);
      const ids = tok.encode(prompt);
      if (ids.length === 0) {
        return yield* new InputError({
          field: "--prompt",
          expected: "text that encodes to at least one token",
          found: "an empty prompt",
        });
      }
      const out = yield* generate(model.sessions, model, ids, {
        maxTokens,
        temperature,
        uniform: mulberry32(seed),
      });
      console.log(prompt + tok.decode(out));
    }),
  );
