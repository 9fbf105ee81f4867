/**
 * Conformance: QueueEvents (completed, failed, progress and the states before them) and
 * getWorkers, which reads CLIENT LIST for the workers' connection names.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { BACKENDS } from "./backends.ts";
import { nextEvent, useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

for (const backend of BACKENDS) {
  describe(`queue events and workers [${backend.name}]`, () => {
    const c = useBackend(backend);

    it("QueueEvents reports completed with the return value, in order with the states before it", async () => {
      const name = c.queueName("ev-completed");
      const queue = c.queue(name);
      const events = await c.events(name);
      const seen: string[] = [];
      for (const event of ["added", "waiting", "active", "completed"] as const) {
        events.on(event, (args: { jobId: string }) => {
          if (args.jobId === "ok") seen.push(event);
        });
      }
      const completed = nextEvent<[{ jobId: string; returnvalue: unknown; prev?: string }]>(events, "completed");
      await queue.add("c", { n: 2 }, { jobId: "ok" });
      c.worker(name, async (job) => ({ doubled: job.data.n * 2 }));
      const [args] = await completed;
      expect(args.jobId).toBe("ok");
      expect(args.returnvalue).toEqual({ doubled: 4 });
      expect(args.prev).toBe("active");
      expect(seen).toEqual(["added", "waiting", "active", "completed"]);
    });

    it("QueueEvents reports each retry and the final failure with its reason", async () => {
      const name = c.queueName("ev-failed");
      const queue = c.queue(name);
      const events = await c.events(name);
      const retries: string[] = [];
      events.on("retries-exhausted", ({ jobId }: { jobId: string }) => retries.push(`exhausted ${jobId}`));
      const failures: Array<{ jobId: string; failedReason: string; prev?: string }> = [];
      events.on("failed", (args) => failures.push(args));
      const delayed = nextEvent<[{ jobId: string; delay: number }]>(events, "delayed");
      const finalFailure = nextEvent<[{ jobId: string; failedReason: string }]>(events, "failed", (args) => args.failedReason === "attempt 2");
      c.worker(name, async (job) => {
        throw new Error(`attempt ${job.attemptsMade + 1}`);
      });
      await queue.add("f", {}, { jobId: "bad", attempts: 2, backoff: 50 });
      const [retry] = await delayed;
      expect(retry.jobId).toBe("bad");
      await finalFailure;
      // The first failure is retried (delayed), so only the last one is a "failed" event.
      expect(failures.map((f) => [f.jobId, f.failedReason, f.prev])).toEqual([["bad", "attempt 2", "active"]]);
      await waitFor("retries-exhausted", () => retries.length === 1);
      expect(retries).toEqual(["exhausted bad"]);
    });

    it("QueueEvents reports progress with its data, and the worker's progress event matches", async () => {
      const name = c.queueName("ev-progress");
      const queue = c.queue(name);
      const events = await c.events(name);
      const progress: unknown[] = [];
      events.on("progress", ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === "p") progress.push(data);
      });
      const worker = c.worker(name, async (job) => {
        await job.updateProgress(25);
        await job.updateProgress({ phase: "copy", done: 3, of: 4 });
        return "ok";
      });
      const workerProgress: unknown[] = [];
      worker.on("progress", (_job, value) => workerProgress.push(value));
      const completed = nextEvent<[{ jobId: string }]>(events, "completed");
      await queue.add("p", {}, { jobId: "p" });
      await completed;
      await waitFor("two progress events", () => progress.length === 2);
      expect(progress).toEqual([25, { phase: "copy", done: 3, of: 4 }]);
      expect(workerProgress).toEqual([25, { phase: "copy", done: 3, of: 4 }]);
    });

    it("getWorkers lists running workers with their names and forgets closed ones", async () => {
      const name = c.queueName("workers");
      const queue = c.queue(name);
      expect(await queue.getWorkers()).toEqual([]);
      const alpha = c.worker(name, async () => "a", { name: "alpha" });
      const beta = c.worker(name, async () => "b", { name: "beta" });
      const other = c.worker(c.queueName("other"), async () => "x", { name: "elsewhere" });
      await Promise.all([alpha.waitUntilReady(), beta.waitUntilReady(), other.waitUntilReady()]);
      const encoded = Buffer.from(name).toString("base64");
      const workers = await waitFor("two workers", async () => {
        const list = await queue.getWorkers();
        return list.length === 2 ? list : undefined;
      });
      expect(workers.map((w) => w.rawname).sort()).toEqual([`bull:${encoded}:w:alpha`, `bull:${encoded}:w:beta`]);
      for (const worker of workers) {
        expect(worker.name).toBe(name);
        expect(worker.addr).toBeTruthy();
      }
      expect(await queue.getWorkersCount()).toBe(2);
      await beta.close();
      await waitFor("beta to disappear", async () => (await queue.getWorkersCount()) === 1);
      expect((await queue.getWorkers()).map((w) => w.rawname)).toEqual([`bull:${encoded}:w:alpha`]);
    });
  });
}
