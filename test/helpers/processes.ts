/** Long-running dist/llmctl processes (workers, beats) for end-to-end tests. */
import type { Subprocess } from "bun";
import { cleanEnv, ensureBinary } from "./cli.ts";

export interface RoleProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything written to stderr so far (the JSON log lines). */
  output(): string;
  /** Resolves with the first log entry whose msg matches. */
  waitForLog(message: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<number>;
  stop(): Promise<number>;
}

export function startRole(args: string[], env: Record<string, string | undefined>, cwd?: string): RoleProcess {
  const child = Bun.spawn([ensureBinary(), ...args], {
    env: cleanEnv({ LLMCTL_LOG_FORMAT: "json", ...env }),
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  let stdout = "";
  const listeners: Array<() => void> = [];
  const pump = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      append(decoder.decode(value, { stream: true }));
      for (const listener of listeners) listener();
    }
  };
  void pump(child.stderr, (text) => (stderr += text));
  void pump(child.stdout, (text) => (stdout += text));
  const entries = (): Array<Record<string, unknown>> =>
    stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  return {
    process: child,
    output: () => stdout + stderr,
    waitForLog(message, timeoutMs = 15_000) {
      const matches = (entry: Record<string, unknown>) =>
        typeof entry.msg === "string" && (typeof message === "string" ? entry.msg === message : message.test(entry.msg));
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = entries().find(matches);
          if (found) {
            clearTimeout(timer);
            resolve(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`no log "${String(message)}" within ${timeoutMs} ms; output:\n${stdout}${stderr}`)), timeoutMs);
        if (check()) return;
        listeners.push(() => void check());
        void child.exited.then(() => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`process exited (${child.exitCode}) before log "${String(message)}"; output:\n${stdout}${stderr}`));
          }
        });
      });
    },
    signal(signal) {
      child.kill(signal);
    },
    exited: child.exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      return await child.exited;
    },
  };
}
