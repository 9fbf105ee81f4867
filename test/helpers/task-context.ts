/**
 * A handler context for calling a task's handler directly, without a worker: progress and log
 * lines are collected for assertions. Child jobs need a worker and Redis, so `tasks.run` refuses
 * here (tests of tool calls run a real worker instead).
 */
import { expect } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import type { TaskContext } from "../../src/tasks/define.ts";
import { silentLogger } from "../../src/util/logger.ts";

export type CollectingContext<Args> = TaskContext<Args> & { logs: string[]; progressed: unknown[] };

export function handlerContext<Args = never>(args: Record<string, unknown>, configText = "queues: [a]\n", signal = new AbortController().signal): CollectingContext<Args> {
  const logs: string[] = [];
  const progressed: unknown[] = [];
  return {
    args: args as Args,
    job: { id: "1", name: "t", queue: "a", attempt: 1, maxAttempts: 1 },
    signal,
    progress: async (value) => void progressed.push(value),
    log: async (line) => void logs.push(line),
    logger: silentLogger(),
    worker: { hostname: "h", pid: 1, version: "0" },
    config: parseConfig(configText, "t.yaml").config,
    tasks: {
      describe: () => undefined,
      run: () => Promise.reject(new Error("child jobs need a worker; this test calls the handler directly")),
    },
    logs,
    progressed,
  };
}

/**
 * Starts a handler with a signal, aborts it after `runForMs` (as a revoke does), and asserts it
 * settles with the abort's reason within a second.
 */
export async function expectStopsWithinASecond(start: (signal: AbortSignal) => Promise<unknown>, runForMs = 300): Promise<void> {
  const controller = new AbortController();
  const running = start(controller.signal);
  running.catch(() => {});
  await Bun.sleep(runForMs);
  const abortedAt = Date.now();
  controller.abort(new Error("revoked"));
  await expect(running).rejects.toThrow("revoked");
  expect(Date.now() - abortedAt).toBeLessThan(1000);
}
