import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { commitOf, type FakeHub, folderFiles, startFakeHub } from "../hub/test-support.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath } from "../testing/testdata.ts";
import { forward } from "./forward.ts";
import { openModel } from "./open.ts";

const FIXTURES = ["tiny-gpt2", "tiny-llama", "tiny-neox"] as const;
const commit = (name: string) => commitOf(`runtime ${name}`);
let hub: FakeHub;
beforeAll(async () => {
  const withTokenizer = folderFiles(testdataPath("fixtures", "tiny-gpt2"));
  if (hasSharedModels)
    withTokenizer.set(
      "tokenizer.json",
      folderFiles(sharedModelPath("gpt2-tokenizer")).get("tokenizer.json")!,
    );
  hub = await startFakeHub([
    ...FIXTURES.map((name) => ({
      repo: `patchbay-test/${name}`,
      refs: { main: commit(name) },
      commits: { [commit(name)]: folderFiles(testdataPath("fixtures", name)) },
    })),
    {
      repo: "patchbay-test/with-tokenizer",
      refs: { main: commit("tok") },
      commits: { [commit("tok")]: withTokenizer },
    },
  ]);
  vi.stubEnv("HF_ENDPOINT", hub.endpoint);
  vi.stubEnv("HF_HUB_CACHE", mkdtempSync(join(tmpdir(), "hf-runtime-")));
  vi.stubEnv("HF_HUB_OFFLINE", "");
});
afterAll(() => hub.close());
afterAll(() => vi.unstubAllEnvs());

const logitsOf = (path: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const model = yield* openModel(path, { threads: 1 });
        const { logits } = yield* forward(model.sessions, model, [[1, 2, 3, 4, 5]]);
        return { logits, revision: model.revision };
      }),
    ),
  );

describe("openModel(hf:…)", () => {
  for (const name of FIXTURES) {
    it(`${name}: downloaded from the Hub, its logits equal the fixture folder's`, async () => {
      const fromHub = await logitsOf(`hf:patchbay-test/${name}`);
      const local = await logitsOf(testdataPath("fixtures", name));
      expect(fromHub.revision).toEqual({
        repo: `patchbay-test/${name}`,
        requested: "main",
        commit: commit(name),
      });
      expect(local.revision).toBeUndefined();
      expect(fromHub.logits.shape).toEqual(local.logits.shape);
      expect(fromHub.logits.data).toEqual(local.logits.data);
    });
  }

  it.runIf(hasSharedModels)(
    "the tokenizer files of the repository are found in the snapshot (through its links)",
    async () => {
      const ids = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const model = yield* openModel("hf:patchbay-test/with-tokenizer", { threads: 1 });
            return model.tokenizer?.encode("Hello world") ?? null;
          }),
        ),
      );
      expect(ids).toEqual([15496, 995]); // GPT-2's ids for "Hello", " world"
    },
  );
  if (!hasSharedModels) warnIfNoSharedModels("the hf: tokenizer test (GPT-2's tokenizer.json)");
});
