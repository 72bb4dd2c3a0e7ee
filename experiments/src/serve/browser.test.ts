import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_ARGS, findChromium } from "../report/testing/chromium.ts";
import { GROUND_TRUTH_EDGE, runInductionEap } from "./test-support.ts";
import { TOKEN_HEADER } from "./guard.ts";
import type { LiveEvaluation } from "./live.ts";
import { type Served, serve } from "./server.ts";

/**
 * The explorer in headless Chromium (playwright-core): open builtin:induction's EAP cell, take the
 * ground-truth edge a0.h1->a1.h2<k> out by clicking it, read the faithfulness shown and compare it
 * with the API's value for the same edge set; undo, and it is back. No console errors, and no
 * request leaves the page's own origin. Screenshots go to the test output folder.
 */
const executablePath = findChromium();
if (executablePath === null)
  console.warn(
    "\n*** SKIPPING the explorer browser test: no chromium on PATH (apt-get install -y chromium) ***\n",
  );

const EDGE = GROUND_TRUTH_EDGE;

describe.skipIf(executablePath === null)("patchbay serve in headless Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-serve-browser-"));
  const shots = join(dir, "screenshots");
  let results: string;
  let browser: Browser;
  let scope: Scope.CloseableScope;
  let served: Served;
  let cellId: string;
  const errors: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ({ results, cellId } = await runInductionEap(dir));
    scope = await Effect.runPromise(Scope.make());
    served = await Effect.runPromise(Scope.extend(serve({ results }), scope));
    browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void));
  });

  const open = async (url: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${served.port}/`)) foreign.push(r.url());
    });
    await page.goto(url);
    return page;
  };

  it("lists the run and opens the cell from its link", async () => {
    const page = await open(served.url);
    const link = page.locator(`a[data-cell="${cellId}"]`);
    await link.waitFor();
    await page.screenshot({ path: join(shots, "runs.png"), fullPage: true });
    await link.click();
    await page.locator("#faithfulness").waitFor();
    expect(page.url()).toContain(`/cell/${cellId}`);
    await page.close();
  });

  it("clicking the ground-truth edge out shows the API's faithfulness; undo brings it back", async () => {
    const page = await open(`http://127.0.0.1:${served.port}/cell/${cellId}?token=${served.token}`);
    const shown = page.locator("#faithfulness");
    const status = page.locator("#status");
    await status.filter({ hasText: "ready" }).waitFor();
    const before = await shown.textContent();
    const box = page.locator(`input[data-edge="${EDGE}"]`);
    const line = page.locator(`#graph line.hit[data-edge="${EDGE}"]`);
    // the edge's state as stored; make sure it is in, then take it out by clicking
    if (!(await box.isChecked())) {
      await box.click();
      await status.filter({ hasText: "ready" }).waitFor();
    }
    const withEdge = await shown.textContent();
    const edgesIn = await page
      .locator("input[data-edge]:checked")
      .evaluateAll((xs) => xs.map((x) => x.getAttribute("data-edge")!));
    await line.click(); // in the graph (edges in the circuit lie above the others)
    await status.filter({ hasText: "ready" }).waitFor();
    expect(await box.isChecked()).toBe(false); // the list follows
    await page
      .locator("#faithfulness")
      .filter({ hasNotText: withEdge ?? "" })
      .waitFor();
    const after = Number(await shown.textContent());
    await page.screenshot({ path: join(shots, "explorer-edge-out.png"), fullPage: true });
    await page.screenshot({ path: join(shots, "explorer-viewport.png") }); // README's picture
    console.log(`explorer screenshots: ${shots}`);
    const api = (await (
      await fetch(`http://127.0.0.1:${served.port}/api/cells/${cellId}/evaluate`, {
        method: "POST",
        headers: { [TOKEN_HEADER]: served.token, "content-type": "application/json" },
        body: JSON.stringify({ edges: edgesIn.filter((e) => e !== EDGE) }),
      })
    ).json()) as LiveEvaluation;
    expect(after).toBeCloseTo(api.faithfulness, 3);
    expect(after).toBeLessThan(Number(withEdge));
    expect(await page.locator("#delta").textContent()).toMatch(/^-\d/);
    // undo (keyboard): the edge is back, and so is the faithfulness
    await page.keyboard.press("Control+z");
    await status.filter({ hasText: "ready" }).waitFor();
    await shown.filter({ hasText: withEdge ?? "" }).waitFor();
    expect(await box.isChecked()).toBe(true);
    expect(await shown.textContent()).toBe(withEdge);
    expect(before).not.toBeNull();
    // a node by keyboard: Enter on a1.h2 takes every edge into and out of it out
    await page.locator('#graph [data-node="a1.h2"]').focus();
    await page.keyboard.press("Enter");
    await status.filter({ hasText: "ready" }).waitFor();
    expect(await box.isChecked()).toBe(false);
    expect(Number(await shown.textContent())).toBeLessThan(Number(withEdge));
    await page.screenshot({ path: join(shots, "explorer-node-out.png"), fullPage: true });
    // the explain panel for the selected edge (selected, and put back, from the list)
    await box.click();
    await status.filter({ hasText: "ready" }).waitFor();
    await page.locator("#explain-run").click();
    await page.locator("#explain-out").filter({ hasText: "exact (full model)" }).waitFor();
    await page.screenshot({ path: join(shots, "explorer-explain.png"), fullPage: true });
    await page.close();
  });

  it("shows a prompt token by token, the circuit's next tokens beside the model's, a head's pattern and the logit lens", async () => {
    const page = await open(`http://127.0.0.1:${served.port}/cell/${cellId}?token=${served.token}`);
    await page.locator("#prompt summary").click(); // open the view
    const out = page.locator('#prompt-out[data-example="0"]');
    await out.waitFor();
    await page.locator("#example").fill("2");
    await page.locator("#example").dispatchEvent("change");
    await page.locator('#prompt-out[data-example="2"]').waitFor();
    await page.locator("#head").selectOption("a1.h2");
    await page.locator("svg.pattern").waitFor();
    const P = await page.locator("#prompt-out p.tokens").first().locator("span.tok").count();
    expect(P).toBeGreaterThan(4);
    expect(await page.locator("svg.pattern rect").count()).toBe(P * P);
    expect(await page.locator("#prompt-out span.tok.at").count()).toBe(2); // the metric's position, clean and corrupted
    expect(await page.locator("table.lens tbody tr").count()).toBe(2);
    expect(await page.locator("table.top").count()).toBe(2);
    // the pattern and the lens under the circuit (the default) or the full model, by the toggle;
    // with the ground-truth edge clicked out of the circuit, a1.h2 loses its key and attends elsewhere
    await page.locator('#prompt-out[data-of="circuit"] table.lens[data-of="circuit"]').waitFor();
    await page.locator("#prompt").screenshot({ path: join(shots, "explorer-prompt.png") });
    const weights = () => page.locator("svg.pattern rect title").allTextContents();
    await page.locator("#view-of").selectOption("full");
    await page.locator('#prompt-out[data-of="full model"] table.lens[data-of="full model"]').waitFor();
    const inFull = await weights();
    expect(inFull).toHaveLength(P * P);
    await page.locator("#view-of").selectOption("circuit");
    await page.locator(`input[data-edge="${EDGE}"]`).click();
    await expect.poll(weights, { timeout: 30_000 }).not.toEqual(inFull);
    expect(await weights()).toHaveLength(P * P);
    await page.locator("#prompt").screenshot({ path: join(shots, "explorer-prompt-edge-out.png") });
    await page.locator("#view-of").selectOption("full");
    expect(await weights()).toEqual(inFull); // the full model's, whatever the circuit
    await page.close();
  });

  it("logged no console errors and made no request outside its origin", () => {
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
