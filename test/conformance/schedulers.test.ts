/**
 * Conformance: job schedulers — upsertJobScheduler with `every` and with a cron `pattern`,
 * updating in place, limits and removal.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import type { Job } from "bullmq";
import { BACKENDS } from "./backends.ts";
import { useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

/** Scheduler jobs are named `repeat:<scheduler id>:<fire time in ms>`. */
function fireTime(job: Job): number {
  const millis = Number(job.id!.split(":").pop());
  if (!Number.isFinite(millis)) throw new Error(`not a scheduler job id: ${job.id}`);
  return millis;
}

for (const backend of BACKENDS) {
  describe(`job schedulers [${backend.name}]`, () => {
    const c = useBackend(backend);

    it("`every` produces one job per interval from the template, fire times `every` ms apart", async () => {
      const name = c.queueName("every");
      const queue = c.queue(name);
      const first = await queue.upsertJobScheduler("tick", { every: 150 }, { name: "tick-job", data: { from: "template" }, opts: { attempts: 2 } });
      expect(first.id).toStartWith("repeat:tick:");
      const ran: Job[] = [];
      c.worker(name, async (job) => {
        ran.push(job);
        return ran.length;
      });
      await waitFor("three scheduler runs", () => ran.length >= 3);
      const runs = ran.slice(0, 3);
      for (const job of runs) {
        expect(job.name).toBe("tick-job");
        expect(job.data).toEqual({ from: "template" });
        expect(job.opts.attempts).toBe(2);
        expect(job.repeatJobKey).toBe("tick");
      }
      const times = runs.map(fireTime);
      expect(times[1]! - times[0]!).toBe(150);
      expect(times[2]! - times[1]!).toBe(150);
      const scheduler = await queue.getJobScheduler("tick");
      expect(scheduler?.every).toBe(150);
      expect(scheduler?.name).toBe("tick-job");
      expect(scheduler?.next).toBeGreaterThan(times[2]!);
    });

    it("a cron `pattern` fires on the pattern's times", async () => {
      const name = c.queueName("cron");
      const queue = c.queue(name);
      // Six fields: the first is seconds, so this fires on every whole second.
      await queue.upsertJobScheduler("each-second", { pattern: "* * * * * *" }, { name: "cron-job", data: { n: 1 } });
      const ran: Job[] = [];
      c.worker(name, async (job) => {
        ran.push(job);
      });
      await waitFor("two cron runs", () => ran.length >= 2, { timeoutMs: 5_000 });
      const times = ran.slice(0, 2).map(fireTime);
      expect(times[0]! % 1000).toBe(0);
      expect(times[1]! - times[0]!).toBe(1000);
      for (const job of ran.slice(0, 2)) {
        expect(job.name).toBe("cron-job");
        expect(job.processedOn!).toBeGreaterThanOrEqual(fireTime(job));
      }
      const scheduler = await queue.getJobScheduler("each-second");
      expect(scheduler?.pattern).toBe("* * * * * *");
    });

    it("upserting the same id updates the scheduler instead of adding one, and removal stops it", async () => {
      const name = c.queueName("upsert");
      const queue = c.queue(name);
      await queue.upsertJobScheduler("s", { every: 60_000 }, { name: "v1" });
      await queue.upsertJobScheduler("s", { every: 30_000 }, { name: "v2", data: { version: 2 } });
      expect(await queue.getJobSchedulersCount()).toBe(1);
      const [scheduler] = await queue.getJobSchedulers();
      expect(scheduler?.key).toBe("s");
      expect(scheduler?.every).toBe(30_000);
      expect(scheduler?.name).toBe("v2");
      // One pending iteration, from the latest template; `every` makes the first one due at once.
      const pending = await queue.getJobs(["delayed", "waiting"]);
      expect(pending).toHaveLength(1);
      expect(pending[0]?.name).toBe("v2");
      expect(pending[0]?.data).toEqual({ version: 2 });
      expect(await pending[0]?.getState()).toBe("waiting");

      // A yearly pattern leaves its next iteration in the delayed set; removal deletes it.
      await queue.upsertJobScheduler("yearly", { pattern: "0 0 1 1 *" }, { name: "new-year" });
      expect(await queue.getJobSchedulersCount()).toBe(2);
      expect(await queue.getJobCounts("delayed")).toEqual({ delayed: 1 });
      expect(await queue.removeJobScheduler("yearly")).toBe(true);
      expect(await queue.getJobCounts("delayed")).toEqual({ delayed: 0 });

      expect(await queue.removeJobScheduler("s")).toBe(true);
      expect(await queue.getJobSchedulersCount()).toBe(0);
      expect(await queue.getJobScheduler("s")).toBeUndefined();
      // An iteration that is already waiting is not taken back.
      expect(await queue.getJobCounts("delayed", "waiting")).toEqual({ delayed: 0, waiting: 1 });
      expect(await queue.removeJobScheduler("s")).toBe(false);
    });

    it("a scheduler with a limit runs that many times and then leaves nothing pending", async () => {
      const name = c.queueName("limit");
      const queue = c.queue(name);
      await queue.upsertJobScheduler("thrice", { every: 100, limit: 3 }, { name: "limited" });
      c.worker(name, async () => "ok");
      await waitFor("three completed runs", async () => (await queue.getJobCounts("completed")).completed === 3);
      await waitFor("no pending iteration", async () => {
        const counts = await queue.getJobCounts("delayed", "waiting", "active");
        return counts.delayed === 0 && counts.waiting === 0 && counts.active === 0;
      });
      expect((await queue.getJobCounts("completed")).completed).toBe(3);
    });
  });
}
