import { defineTask } from "../define.ts";
import { z } from "zod";

/** The probe smoke checks send to every queue: who ran it, where, and when. */
export default defineTask({
  name: "llmctl.ping",
  description: "Probe: returns the worker's hostname, pid, queue, version and time",
  timeout: "30s",
  attempts: 1,
  args: z.strictObject({ sleep_ms: z.number().int().min(0).max(600_000).optional().describe("wait this long before answering (for tests of revoke and slots)") }),
  async handler({ args, job, worker, signal }) {
    if (args.sleep_ms) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, args.sleep_ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      });
    }
    return { hostname: worker.hostname, pid: worker.pid, queue: job.queue, role: worker.role ?? null, worker_version: worker.version, time: new Date().toISOString() };
  },
});
