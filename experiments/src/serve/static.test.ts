import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { evaluateCircuits } from "@patchbay/circuits";
import { Effect } from "effect";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCircuitSetup } from "../kinds/circuit/cell.ts";
import { CHROMIUM_ARGS, findChromium } from "../report/testing/chromium.ts";
import { readCellResult } from "../run/store.ts";
import { GROUND_TRUTH_EDGE, runInductionEap } from "./test-support.ts";
import { liveSource } from "./source.ts";
import { writeInteractive } from "./static.ts";

/**
 * The static explorer (`patchbay report --interactive`) opened from disk in headless Chromium:
 * onnxruntime-web runs the cell's edge-masked graph in the page; the faithfulness it computes for
 * the stored circuit, and after clicking the ground-truth edge a0.h1->a1.h2<k> out, equals what
 * the API computes (evaluateCircuits) to 1e-4; undo brings it back. No request leaves the folder.
 */
const executablePath = findChromium();
if (executablePath === null)
  console.warn(
    "\n*** SKIPPING the static explorer browser test: no chromium on PATH (apt-get install -y chromium) ***\n",
  );

const EDGE = GROUND_TRUTH_EDGE;

describe.skipIf(executablePath === null)("the static explorer in headless Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-static-"));
  let results: string;
  let browser: Browser;
  let cellId: string;
  let runId: string;

  beforeAll(async () => {
    ({ results, cellId, runId } = await runInductionEap(dir));
    browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("computes the API's faithfulness in the page, before and after a click, from file://", async () => {
    const out = await Effect.runPromise(writeInteractive(results, runId));
    expect(out.pages).toHaveLength(1);
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (
        !r.url().startsWith(pathToFileURL(out.dir).href) &&
        !r.url().startsWith("blob:") &&
        !r.url().startsWith("data:")
      )
        foreign.push(r.url());
    });
    await page.goto(pathToFileURL(out.pages[0]!).href);
    const status = page.locator("#status");
    await page.locator('#status[data-evaluations="1"]').waitFor({ timeout: 120_000 });
    const stored = readCellResult(results, cellId) as unknown as {
      faithfulness: { mean: number };
      edges: { name: string; inGraph: boolean }[];
    };
    expect(Number(await status.getAttribute("data-faithfulness"))).toBeCloseTo(stored.faithfulness.mean, 4);
    // the ground-truth edge out, by clicking it in the list
    await page.locator(`input[data-edge="${EDGE}"]`).click();
    await page.locator('#status[data-evaluations="2"]').waitFor();
    const inPage = Number(await status.getAttribute("data-faithfulness"));
    const names = stored.edges.map((e) => e.name);
    const inGraph = Uint8Array.from(stored.edges, (e) => (e.inGraph && e.name !== EDGE ? 1 : 0));
    const api = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { setup } = yield* openCircuitSetup(yield* liveSource(results, cellId));
          return yield* evaluateCircuits(setup, [inGraph]);
        }),
      ),
    );
    expect(names).toContain(EDGE);
    expect(inPage).toBeCloseTo(api.circuits[0]!.faithfulness, 4);
    expect(inPage).toBeLessThan(stored.faithfulness.mean);
    await page.screenshot({ path: join(dir, "static-explorer.png") });
    await page.keyboard.press("Control+z");
    await page.locator('#status[data-evaluations="3"]').waitFor();
    expect(Number(await status.getAttribute("data-faithfulness"))).toBeCloseTo(stored.faithfulness.mean, 4);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 180_000);
});
