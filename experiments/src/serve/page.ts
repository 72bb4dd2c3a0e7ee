import { APP_JS } from "./app.js.ts";

/** The page shell: the token and the cell id in meta tags, the app from /assets (CSP: no inline code). */
export const pageHtml = (token: string, cellId: string | null): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="patchbay-token" content="${token.replace(/[^0-9a-zA-Z_-]/g, "")}">
<meta name="patchbay-cell" content="${(cellId ?? "").replace(/[^0-9a-f]/g, "")}">
<title>patchbay explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<main id="main"></main>
<script src="/assets/app.js"></script>
</body>
</html>
`;

/** Colours: every text/background pair at least 4.5:1 (WCAG AA), checked in serve.test.ts. */
export const COLOURS = {
  text: "#1a1a1a",
  background: "#ffffff",
  /** the selected row's background */
  selected: "#eef3fa",
  muted: "#595959",
  link: "#0b57a3",
  error: "#a30000",
  q: "#8a3b00",
  k: "#00695c",
  v: "#5b2a86",
  mlp: "#1f5f1f",
  logits: "#9c1b6b",
  attn: "#245a8c",
} as const;

const APP_CSS = `body { font: 15px/1.45 system-ui, sans-serif; color: ${COLOURS.text}; background: ${COLOURS.background}; margin: 1.5rem; }
a { color: ${COLOURS.link}; } .muted { color: ${COLOURS.muted}; } .error { color: ${COLOURS.error}; }
:focus-visible { outline: 3px solid ${COLOURS.link}; outline-offset: 2px; }
.controls { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
#metric { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
#metric dt { font-weight: 600; } #metric dd { margin: 0; font-variant-numeric: tabular-nums; }
table.edges { border-collapse: collapse; margin-top: 1rem; } table.edges td, table.edges th { padding: .1rem .6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.panes { display: flex; gap: 1rem; align-items: flex-start; flex-wrap: wrap; }
.graph-pane { flex: 3 1 520px; border: 1px solid ${COLOURS.muted}; } .side { flex: 1 1 280px; }
#graph { width: 100%; height: 62vh; display: block; cursor: grab; touch-action: none; }
#graph .stroke { stroke: currentColor; } #graph .out .stroke { stroke-dasharray: 3 3; opacity: .45; }
#graph .hit { stroke: transparent; stroke-width: 9; pointer-events: stroke; cursor: pointer; }
#graph .selected .stroke { stroke-width: 4; opacity: 1; }
#graph .node rect { fill: ${COLOURS.background}; stroke: ${COLOURS.text}; } #graph .node text { font-size: 9px; fill: ${COLOURS.text}; pointer-events: none; }
#graph .node { cursor: pointer; } #graph .node:focus-visible rect { stroke: ${COLOURS.link}; stroke-width: 3; }
.tokens { line-height: 2; } .tok { border: 1px solid ${COLOURS.muted}; border-radius: 3px; padding: 0 2px; margin-right: 1px; white-space: pre; }
.tok.at { outline: 2px solid ${COLOURS.link}; } table.top, table.lens { border-collapse: collapse; } table.top td, table.lens td { padding: 0 .5rem; }
caption { font-weight: 600; text-align: left; } summary h2 { display: inline; } summary { cursor: pointer; } svg.pattern { display: block; margin: .3rem 0; }
tr.selected { background: ${COLOURS.selected}; }
.k-q { color: ${COLOURS.q}; } .k-k { color: ${COLOURS.k}; } .k-v { color: ${COLOURS.v}; } .k-mlp { color: ${COLOURS.mlp}; } .k-logits { color: ${COLOURS.logits}; } .k-attn { color: ${COLOURS.attn}; }
`;

/** Static assets (no data, no token needed), served from memory. */
export const ASSETS: Readonly<Record<string, { readonly type: string; readonly body: string }>> = {
  "/assets/app.js": { type: "text/javascript; charset=utf-8", body: APP_JS },
  "/assets/app.css": { type: "text/css; charset=utf-8", body: APP_CSS },
};
