/**
 * The studio is a role: it depends on broker/, config/, tasks/ and util/, never on another role,
 * and its dashboard bundle (ui/) pulls in no server code (only types, which vanish when bundled).
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../../helpers/cli.ts";

const STUDIO = join(ROOT, "src", "studio");

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Relative imports of a file, resolved, with whether they are type-only. */
function imports(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)";/gms)].map((match) => ({ target: resolve(dirname(file), match[2]!), typeOnly: Boolean(match[1]) }));
}

describe("studio boundaries", () => {
  it("imports no other role (worker/, beat/)", () => {
    const offending = sources(STUDIO).flatMap((file) =>
      imports(file)
        .filter(({ target }) => /\/src\/(worker|beat)\//.test(target))
        .map(({ target }) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
    );
    expect(offending).toEqual([]);
  });

  it("keeps server code out of the dashboard bundle", () => {
    const ui = join(STUDIO, "ui");
    const offending = sources(ui).flatMap((file) =>
      imports(file)
        .filter(({ target, typeOnly }) => !typeOnly && !target.startsWith(ui))
        .map(({ target }) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
    );
    expect(offending).toEqual([]);
    expect(sources(ui).length).toBeGreaterThan(5);
  });
});
