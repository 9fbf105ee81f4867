/**
 * docs/operations.md's troubleshooting section is built from what llmctl really prints: each
 * entry's message must come out of the compiled binary in one of the failure scenarios below,
 * or, for entries marked *(log)*, be the `msg` of a log call in the source.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { llmctl, ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/files.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

interface Entry {
  message: string;
  log: boolean;
}

function troubleshootingEntries(): Entry[] {
  const text = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");
  const section = text.slice(text.indexOf("## Troubleshooting"));
  const entries: Entry[] = [];
  for (const match of section.matchAll(/^### (`+) ?(.+?) ?\1( \*\(log\)\*)?$/gm)) entries.push({ message: match[2]!, log: Boolean(match[3]) });
  return entries;
}

/** The message as a pattern over one printed line: `<…>` stands for any text. */
function linePattern(message: string): RegExp {
  const parts = message.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".+?")}$`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

const entries = troubleshootingEntries();
const printed: string[] = [];
let secured: RedisServer;
let evicting: RedisServer;
const files = tempDir();

beforeAll(async () => {
  [secured, evicting] = await Promise.all([
    startRedisServer({ password: "right-password" }),
    startRedisServer({ settings: { "maxmemory-policy": "allkeys-lru" } }),
  ]);
  const closedPort = await freePort();
  const typo = files.file("typo.yaml", "prefix: t\nqueus: [a]\nqueues: [a]\n");
  const scenarios: string[][] = [
    ["task", "status", "--redis-url", `redis://127.0.0.1:${closedPort}/0`],
    ["task", "status", "--redis-url", "redis://no-such-host.invalid:6379/0"],
    ["task", "status", "--redis-url", `redis://127.0.0.1:${secured.port}/0`],
    ["task", "status", "--redis-url", `redis://:wrong-password@127.0.0.1:${secured.port}/0`],
    ["doctor", "--redis-url", evicting.url],
    ["config", "validate", "-c", typo],
    ["task", "status", "--redis-url", "embedded"],
    ["studio", "--host", "0.0.0.0", "--port", "0", "--redis-url", evicting.url],
    ["schedule", "trigger", "no_such_schedule", "--redis-url", evicting.url],
  ];
  const results = await Promise.all(scenarios.map((args) => llmctl(args, { cwd: files.dir, timeoutMs: 30_000 })));
  for (const result of results) printed.push(...`${result.stdout}\n${result.stderr}`.split("\n").map((line) => line.trimEnd()));
}, 60_000);

afterAll(async () => {
  await Promise.all([secured?.stop(), evicting?.stop()]);
  files.cleanup();
});

describe("docs/operations.md troubleshooting", () => {
  it("has entries to check", () => {
    expect(entries.length).toBeGreaterThanOrEqual(10);
    expect(entries.some((entry) => entry.log)).toBe(true);
  });

  it("quotes only messages the binary prints in a failure scenario", () => {
    const unmatched = entries.filter((entry) => !entry.log && !printed.some((line) => linePattern(entry.message).test(line)));
    expect(unmatched.map((entry) => entry.message)).toEqual([]);
  });

  it("quotes only log messages that the source logs", () => {
    const source = sourceFiles(join(ROOT, "src")).map((path) => readFileSync(path, "utf8")).join("\n");
    const missing = entries.filter((entry) => entry.log && !source.includes(`"${entry.message}"`));
    expect(missing.map((entry) => entry.message)).toEqual([]);
  });

  it("would notice a message the binary does not print", () => {
    expect(printed.some((line) => linePattern("error: cannot reach Redis at <host:port>: the moon is in the way").test(line))).toBe(false);
  });
});
