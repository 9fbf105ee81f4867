/**
 * Runs the compiled dist/llmctl, as users do. The binary is rebuilt first when any source file
 * is newer than it, so `bun test` after an edit never tests a stale build.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BINARY = join(ROOT, "dist", "llmctl");

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let ensured = false;

export function ensureBinary(): string {
  if (ensured) return BINARY;
  const sources = Math.max(newestSourceMtime(join(ROOT, "src")), statSync(join(ROOT, "package.json")).mtimeMs, newestSourceMtime(join(ROOT, "config")));
  if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < sources) {
    const build = Bun.spawnSync(["bun", "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`bun run build failed:\n${build.stderr.toString()}`);
  }
  ensured = true;
  return BINARY;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

/** The environment a user's shell would pass, minus anything that would steer llmctl. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(LLMCTL_|CELERY_)/.test(key)) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export async function llmctl(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = Bun.spawn([ensureBinary(), ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
