/**
 * The explorer's per-prompt view in the browser (part of /assets/app.js): pick an example and a
 * head; shows the clean and corrupted prompts token by token (boxes mark the boundaries, the
 * metric's position outlined), the top next tokens under the current circuit beside the full
 * model's, the head's attention pattern on the clean prompt (an SVG grid, darker = more weight,
 * each cell titled with its query, key and weight), and the logit lens along the residual stream.
 * A toggle shows the pattern and the lens of the current circuit (default) or of the full model;
 * the server sends both (prompt.ts), so toggling needs no request. It is closed at first, and
 * while open it refreshes after each evaluation of the circuit.
 */
export const PROMPT_JS = String.raw`
function makePromptView(cellId, examples, heads, currentInGraph) {
  const exampleIn = el("input", { id: "example", type: "number", min: "0", max: String(examples - 1), value: "0", "aria-label": "example" });
  const headIn = el("select", { id: "head", "aria-label": "attention head" }, el("option", { value: "" }, "no head"), ...heads.map((h) => el("option", { value: h }, h)));
  if (heads.length > 0) headIn.value = heads[heads.length - 1];
  const viewOf = el("select", { id: "view-of", "aria-label": "pattern and lens of" }, el("option", { value: "circuit" }, "the circuit"), el("option", { value: "full" }, "the full model"));
  const out = el("div", { id: "prompt-out" });
  // closed until asked for: its runs (the circuit's logits, the model's, the lens) queue behind clicks
  const section = el("details", { id: "prompt", "aria-label": "per-prompt view" }, el("summary", {}, el("h2", {}, "Prompt")),
    el("div", { class: "controls" }, el("label", { for: "example" }, "example "), exampleIn, el("label", { for: "head" }, " head "), headIn, el("label", { for: "view-of" }, " pattern and lens of "), viewOf), out);
  const tokens = (label, ts, position) => el("p", { class: "tokens" }, el("span", { class: "muted" }, label + " "),
    ...ts.map((t, i) => el("span", { class: "tok" + (i === position ? " at" : ""), title: "position " + i + " · id " + t.id }, t.text.replace(/ /g, "␣").replace(/\n/g, "⏎"))));
  const topTable = (title, rows) => el("table", { class: "top" }, el("caption", {}, title),
    el("tbody", {}, ...rows.map((t) => el("tr", {}, el("td", {}, t.text.replace(/ /g, "␣")), el("td", { class: "num" }, fmt(t.p, 3))))));
  const heat = (pattern, ts) => {
    const P = pattern.length, cell = 12;
    const svg = svgEl("svg", { class: "pattern", width: P * cell, height: P * cell, viewBox: "0 0 " + P * cell + " " + P * cell, role: "img", "aria-label": "attention pattern, query rows by key columns" });
    pattern.forEach((row, q) => row.forEach((w, k) => {
      const r = svgEl("rect", { x: k * cell, y: q * cell, width: cell - 1, height: cell - 1, fill: "rgb(" + Math.round(255 - 230 * w) + "," + Math.round(255 - 200 * w) + "," + Math.round(255 - 120 * w) + ")" });
      const t = svgEl("title");
      t.textContent = "query " + q + " (" + ts[q].text + ") → key " + k + " (" + ts[k].text + "): " + w.toFixed(3);
      r.append(t);
      svg.append(r);
    }));
    return svg;
  };
  const CIRCUIT_NOTE = "under the circuit: each head's pattern from its masked inputs; the lens reads, after each block, what the logits would read there with the circuit's own logits edges (sources the circuit does not connect to the logits at their ablated values), so its last row is the circuit's output";
  let pending = 0, last = null;
  const show = (v) => {
    const circuit = viewOf.value === "circuit";
    const of = circuit ? v.circuit : v, whose = circuit ? "circuit" : "full model";
    out.replaceChildren(
      tokens("clean", v.clean, v.position), tokens("corrupted", v.corrupted, v.position),
      el("p", {}, "answer: " + (v.answer ? v.answer.text.replace(/ /g, "␣") + " (full model p " + fmt(v.answer.p, 3) + ")" : "–")),
      el("div", { class: "panes" }, topTable("next token, circuit", v.top.circuit), topTable("next token, full model", v.top.full),
        el("table", { class: "lens", "data-of": whose }, el("caption", {}, "logit lens (" + whose + ")"), el("tbody", {}, ...of.lens.map((r) => el("tr", {}, el("td", {}, r.site.replace(".resid_post", "")), el("td", {}, r.top.text.replace(/ /g, "␣")), el("td", { class: "num" }, r.answer === null ? "–" : "p(answer) " + fmt(r.answer, 3))))))),
      of.attention ? el("div", {}, el("p", {}, "attention of a" + of.attention.layer + ".h" + of.attention.head + " on the clean prompt (" + whose + ")"), heat(of.attention.pattern, v.clean)) : el("p", { class: "muted" }, "choose a head to see its attention"),
      circuit ? el("p", { class: "muted" }, CIRCUIT_NOTE) : el("p", { class: "muted" }, "the full model: every edge in"));
    out.dataset.example = String(v.example);
    out.dataset.of = whose;
  };
  const refresh = async () => {
    if (!section.open) return;
    const mine = ++pending;
    try {
      const v = await api("/api/cells/" + cellId + "/prompt", { inGraph: currentInGraph().join(""), example: Number(exampleIn.value), head: headIn.value === "" ? null : headIn.value });
      if (mine !== pending) return;
      last = v;
      show(v);
    } catch (e) { out.textContent = "error: " + e.message; }
  };
  viewOf.addEventListener("change", () => { if (last !== null) show(last); });
  section.addEventListener("toggle", refresh);
  exampleIn.addEventListener("change", refresh);
  headIn.addEventListener("change", refresh);
  return { section, refresh };
}
`;
