import { describe, expect, it } from "vitest";
import { COLOURS, pageHtml } from "./page.ts";

/** WCAG 2 relative luminance of #rrggbb and the contrast ratio (L1 + 0.05) / (L2 + 0.05). */
const luminance = (hex: string): number => {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
};
const contrast = (a: string, b: string): number => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

describe("explorer page", () => {
  it("the contrast formula matches WCAG's known values", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 6);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
  });

  it("every text colour is readable on the background (WCAG AA, 4.5:1)", () => {
    for (const [name, colour] of Object.entries(COLOURS)) {
      if (name === "background" || name === "selected") continue;
      expect(contrast(colour, COLOURS.background), name).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colour, COLOURS.selected), `${name} on a selected row`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it("puts only hex in the token and cell meta tags (nothing from a URL reaches the markup)", () => {
    const html = pageHtml('abc"><script>x</script>', 'ff"><b>');
    expect(html).toContain('<meta name="patchbay-token" content="abcscriptxscript">');
    expect(html).toContain('<meta name="patchbay-cell" content="ffb">'); // the hex characters only
    expect(html).not.toContain("<script>x");
  });
});
