/**
 * The roles (worker/, beat/, studio/) never import each other, and up/ is the only module that
 * brings them together: `llmctl up` and `llmctl smoke --local` compose the roles' own start()
 * functions there, never a second way of starting one. (studio/ui/ has its own rule, in
 * studio/boundaries.test.ts.)
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../helpers/cli.ts";

const SRC = join(ROOT, "src");
const ROLES = ["worker", "beat", "studio"] as const;

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** The roles a file imports, statically or lazily (`await import(...)`), types left out. */
function rolesImported(file: string): Set<string> {
  const text = readFileSync(file, "utf8");
  const targets = [
    ...[...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+"(\.[^"]+)";/gms)].map((match) => match[1]!),
    ...[...text.matchAll(/import\("(\.[^"]+)"\)/g)].map((match) => match[1]!),
  ].map((target) => relative(SRC, resolve(dirname(file), target)));
  return new Set(targets.map((target) => target.split("/")[0]!).filter((top) => (ROLES as readonly string[]).includes(top)));
}

describe("role boundaries", () => {
  it("no role imports another role", () => {
    const offending = ROLES.flatMap((role) =>
      sources(join(SRC, role)).flatMap((file) => [...rolesImported(file)].filter((other) => other !== role).map((other) => `${relative(ROOT, file)} → ${other}/`)),
    );
    expect(offending).toEqual([]);
  });

  it("only up/ imports more than one role", () => {
    const composing = sources(SRC)
      .filter((file) => rolesImported(file).size > 1)
      .map((file) => relative(ROOT, file));
    expect(composing).toEqual(["src/up/index.ts"]);
  });
});
