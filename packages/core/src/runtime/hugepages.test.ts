import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HUGEPAGES_TUNABLE, hugepagesState, withHugepages } from "./hugepages.ts";

const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
const module = fileURLToPath(new URL("./hugepages.ts", import.meta.url));

const tunable = fc
  .tuple(fc.constantFrom("glibc.malloc", "glibc.cpu", "glibc.pthread"), fc.stringMatching(/^[a-z_]{1,12}$/))
  .filter(([, name]) => name !== "hugetlb")
  .map(([ns, name]) => `${ns}.${name}=1`);

describe("withHugepages", () => {
  it("adds the tunable once, after the user's, and keeps a hugetlb setting the user chose", () => {
    fc.assert(
      fc.property(fc.array(tunable, { maxLength: 4 }), fc.constantFrom("0", "1", "2"), (others, own) => {
        const env = others.length === 0 ? {} : { GLIBC_TUNABLES: others.join(":") };
        const added = withHugepages(env).GLIBC_TUNABLES!;
        expect(added.split(":")).toEqual([...others, HUGEPAGES_TUNABLE]);
        expect(withHugepages({ GLIBC_TUNABLES: added }).GLIBC_TUNABLES).toBe(added);
        const chosen = [...others, `glibc.malloc.hugetlb=${own}`].join(":");
        expect(withHugepages({ GLIBC_TUNABLES: chosen }).GLIBC_TUNABLES).toBe(chosen);
      }),
    );
  });

  it("keeps every other variable", () => {
    const env = withHugepages({ PATH: "/bin", HOME: "/root" });
    expect(env).toEqual({ PATH: "/bin", HOME: "/root", GLIBC_TUNABLES: HUGEPAGES_TUNABLE });
  });
});

// A child process allocates and touches 256 MiB of Float32Array, with and without the tunable.
const child = (env: NodeJS.ProcessEnv) => {
  const script = `
    import { hugepagesState } from ${JSON.stringify(module)};
    const a = new Float32Array(64 * 1024 * 1024).fill(1);
    console.log(JSON.stringify({ ...hugepagesState(), sum: a[a.length - 1] }));
  `;
  const r = spawnSync(tsx, ["--input-type=module", "-e", script], { encoding: "utf8", env, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as ReturnType<typeof hugepagesState> & {
    sum: number;
  };
};

const mode = hugepagesState().mode;
const glibc =
  process.platform === "linux" &&
  (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime;
const usable =
  (mode === "madvise" || mode === "always") && typeof glibc === "string" && Number(glibc.split(".")[1]) >= 35;
if (!usable)
  console.warn(
    `hugepages.test.ts: the huge page check is skipped: it needs Linux with transparent huge pages in madvise or always mode and glibc ≥ 2.35 (mode ${mode}, glibc ${glibc || "none"})`,
  );

describe.skipIf(!usable)("a process started with withHugepages' environment", () => {
  it("has its large buffers in huge pages; without the tunable (madvise mode) it has none", () => {
    const { GLIBC_TUNABLES: _, ...plain } = process.env;
    const on = child(withHugepages(plain));
    expect(on.tunable).toBe(true);
    expect(on.sum).toBe(1);
    // 256 MiB touched: most of it is in 2 MiB pages
    expect(on.anonHugeMb).toBeGreaterThanOrEqual(128);
    const off = child(plain);
    expect(off.tunable).toBe(false);
    if (mode === "madvise") expect(off.anonHugeMb).toBeLessThan(on.anonHugeMb! / 4);
  });
});

describe("hugepagesState", () => {
  it("reads the kernel's mode as the bracketed word", () => {
    const raw = (() => {
      try {
        return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
      } catch {
        return null;
      }
    })();
    if (raw === null) expect(mode).toBeNull();
    else expect(raw).toContain(`[${mode}]`);
  });
});
