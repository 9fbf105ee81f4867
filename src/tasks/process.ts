/**
 * Running an argv command for the shell and command tasks: never through a shell, in its own
 * process group so that a timeout or revoke kills everything it started, with only allowlisted
 * environment variables from the worker, and the tails of its output kept.
 */
import { spawn } from "node:child_process";
import { Glob } from "bun";
import type { ConfigFile } from "../config/schema.ts";
import { RuntimeError } from "../util/errors.ts";

export type ShellSettings = ConfigFile["shell"];

export function commandAllowed(settings: ShellSettings, command: string): boolean {
  return settings.allowed_commands.some((pattern) => pattern === "*" || new Glob(pattern).match(command));
}

export const OUTPUT_TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 2000;

export interface ProcessResult {
  exit_code: number | null;
  signal: string | null;
  stdout_tail: string;
  stderr_tail: string;
  duration_ms: number;
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8");
  }
}

export function childEnvironment(settings: ShellSettings, extra: Record<string, string> = {}, source: Record<string, string | undefined> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of settings.env_allowlist) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface RunProcessOptions {
  cwd?: string;
  env: Record<string, string>;
  /** Aborting kills the process group: SIGTERM, then SIGKILL after two seconds. */
  signal: AbortSignal;
  /** Called with each output line, e.g. to append it to the job log. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Runs argv to completion; rejects with the signal's reason when aborted (after the group is dead). */
export async function runProcess(argv: string[], options: RunProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  if (options.signal.aborted) throw options.signal.reason;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new Tail(OUTPUT_TAIL_BYTES);
  const stderr = new Tail(OUTPUT_TAIL_BYTES);
  const forward = (stream: "stdout" | "stderr", tail: Tail) => {
    let partial = "";
    return (chunk: Buffer) => {
      tail.push(chunk);
      if (!options.onLine) return;
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onLine(stream, line);
    };
  };
  child.stdout!.on("data", forward("stdout", stdout));
  child.stderr!.on("data", forward("stderr", stderr));

  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    if (child.pid === undefined) return;
    killGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), KILL_GRACE_MS);
  };
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          error.code === "ENOENT"
            ? new RuntimeError(`command not found: ${argv[0]}`)
            : error.code === "EACCES"
              ? new RuntimeError(`command not executable: ${argv[0]}`)
              : error,
        );
      });
      child.once("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    if (options.signal.aborted) {
      // Make sure nothing of the group survives before reporting.
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      throw options.signal.reason;
    }
    return { exit_code: code, signal, stdout_tail: stdout.text(), stderr_tail: stderr.text(), duration_ms: Date.now() - started };
  } finally {
    clearTimeout(killTimer);
    options.signal.removeEventListener("abort", onAbort);
  }
}

/** The last `count` non-empty lines, for error messages. */
export function lastLines(text: string, count = 5): string {
  return text.split("\n").filter((line) => line.trim() !== "").slice(-count).join("\n");
}
