import { type Html, html, raw } from "./html.ts";

/**
 * The page shell every report shares: inline CSS, a header (title, subtitle), the body. Pages are
 * self-contained (no external assets, no scripts).
 */
const CSS = `
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d232b; margin: 0; background: #f4f6f9; line-height: 1.4; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 60px; }
header.page { background: #1f2d3d; color: #fff; padding: 18px 28px; }
header.page h1 { margin: 0; font-size: 22px; font-weight: 600; }
header.page .sub { color: #b8c6d6; font-size: 13px; margin-top: 4px; word-break: break-all; }
h2 { font-size: 18px; margin: 30px 0 10px; border-bottom: 2px solid #d8dee6; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 8px; color: #33414f; }
section.cell { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 4px 22px 22px; margin: 22px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card .k { font-size: 11px; color: #66717d; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 17px; font-weight: 600; margin-top: 2px; }
.card .v.small { font-size: 13px; font-weight: 500; }
.figure { background: #fff; border: 1px solid #e3e7ee; border-radius: 6px; padding: 8px; overflow-x: auto; display: inline-block; max-width: 100%; box-sizing: border-box; }
.figure svg { display: block; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #dde3ea; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; white-space: nowrap; }
th.spec { white-space: normal; max-width: 160px; background: #e9eef7; }
td.spec { max-width: 220px; }
table.summary th { white-space: normal; vertical-align: bottom; }
table.summary td { max-width: 260px; overflow-wrap: break-word; }
p.shared span { white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; }
th.sorted::after { content: " \\25BC"; font-size: 9px; color: #667; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
tr.in td { background: #eef6ee; }
.yes { color: #1a7f37; font-weight: 600; }
.no { color: #a0a7af; }
.bad { color: #c0143c; font-weight: 600; }
pre { background: #1f2430; color: #e6e6e6; padding: 12px 14px; border-radius: 6px; overflow-x: auto; font-size: 12px; max-height: 480px; }
.swatch { display: inline-block; width: 18px; height: 4px; vertical-align: middle; margin-right: 4px; }
.note { color: #5b6671; font-size: 12.5px; }
a { color: #0b5cad; }
nav.toc { font-size: 13px; }
`;

export const page = (title: string, subtitle: string, body: Html, extraCss = ""): string =>
  `<!DOCTYPE html>\n${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${raw(CSS + extraCss)}</style>
</head>
<body>
<header class="page"><h1>${title}</h1><div class="sub">${subtitle}</div></header>
<main>
${body}
</main>
</body>
</html>
`.value
  }`;
