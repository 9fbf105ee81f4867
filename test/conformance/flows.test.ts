/**
 * Conformance: flows (FlowProducer) — a parent waits for its children across queues, reads their
 * results with getChildrenValues, and fails when a child with failParentOnFailure fails.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { WaitingChildrenError } from "bullmq";
import { wakeWaitingParent } from "../../src/broker/job-flow.ts";
import { BACKENDS } from "./backends.ts";
import { gate, useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

for (const backend of BACKENDS) {
  describe(`flows [${backend.name}]`, () => {
    const c = useBackend(backend);

    it("the parent waits in waiting-children until every child completes, then sees their values", async () => {
      const parentQueueName = c.queueName("flow-parent");
      const childQueueName = c.queueName("flow-child");
      const parentQueue = c.queue(parentQueueName);
      const childQueue = c.queue(childQueueName);
      const tree = await c.flowProducer().add({
        name: "sum",
        queueName: parentQueueName,
        opts: { jobId: "parent" },
        children: [
          { name: "square", queueName: childQueueName, data: { n: 2 }, opts: { jobId: "c2" } },
          { name: "square", queueName: childQueueName, data: { n: 3 }, opts: { jobId: "c3" } },
          { name: "square", queueName: parentQueueName, data: { n: 4 }, opts: { jobId: "c4" } },
        ],
      });
      expect(tree.job.id).toBe("parent");
      expect(tree.children?.map((child) => child.job.id).sort()).toEqual(["c2", "c3", "c4"]);
      expect(await parentQueue.getJobCounts("waiting-children")).toEqual({ "waiting-children": 1 });
      expect(await (await parentQueue.getJob("parent"))!.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 3, failed: 0, ignored: 0 });

      const releaseChildren = gate();
      let parentValues: Record<string, number> | undefined;
      c.worker(childQueueName, async (job) => {
        await releaseChildren.promise;
        return job.data.n * job.data.n;
      });
      c.worker(parentQueueName, async (job) => {
        if (job.name === "square") return job.data.n * job.data.n;
        parentValues = await job.getChildrenValues<number>();
        return Object.values(parentValues).reduce((a, b) => a + b, 0);
      });
      // c4 (on the parent's own queue) completes; the parent must still wait for c2 and c3.
      await waitFor("c4 to complete", async () => (await parentQueue.getJob("c4"))?.finishedOn);
      const parent = (await parentQueue.getJob("parent"))!;
      expect(await parent.getState()).toBe("waiting-children");
      expect(await parent.getDependenciesCount()).toEqual({ processed: 1, unprocessed: 2, failed: 0, ignored: 0 });

      releaseChildren.open();
      await waitFor("the parent to complete", async () => (await parentQueue.getJob("parent"))?.finishedOn);
      const done = (await parentQueue.getJob("parent"))!;
      expect(done.returnvalue).toBe(4 + 9 + 16);
      expect(parentValues).toEqual({
        [`bull:${childQueueName}:c2`]: 4,
        [`bull:${childQueueName}:c3`]: 9,
        [`bull:${parentQueueName}:c4`]: 16,
      });
      const children = await Promise.all(["c2", "c3"].map((id) => childQueue.getJob(id)));
      const lastChild = Math.max(...children.map((child) => child!.finishedOn!));
      expect(done.processedOn!).toBeGreaterThanOrEqual(lastChild);
      expect(children[0]?.parentKey).toBe(`bull:${parentQueueName}:parent`);
    });

    it("a child that fails with failParentOnFailure fails the parent, which never runs", async () => {
      const parentQueueName = c.queueName("flow-fail-parent");
      const childQueueName = c.queueName("flow-fail-child");
      const parentQueue = c.queue(parentQueueName);
      await c.flowProducer().add({
        name: "parent",
        queueName: parentQueueName,
        opts: { jobId: "p" },
        children: [
          { name: "ok", queueName: childQueueName, data: { fail: false }, opts: { jobId: "ok" } },
          { name: "bad", queueName: childQueueName, data: { fail: true }, opts: { jobId: "bad", failParentOnFailure: true } },
        ],
      });
      let parentRan = false;
      c.worker(childQueueName, async (job) => {
        if (job.data.fail) throw new Error("child broke");
        return "fine";
      });
      c.worker(parentQueueName, async () => {
        parentRan = true;
      });
      await waitFor("the parent to fail", async () => (await (await parentQueue.getJob("p"))?.getState()) === "failed");
      const parent = (await parentQueue.getJob("p"))!;
      expect(parent.failedReason).toContain(`bull:${childQueueName}:bad`);
      expect(parentRan).toBe(false);
    });

    it("a parent woken early by llmctl's wake script runs with a child pending, then waits again for it", async () => {
      const parentQueueName = c.queueName("flow-wake-parent");
      const childQueueName = c.queueName("flow-wake-child");
      const parentQueue = c.queue(parentQueueName);
      const parentKey = { queueKey: `bull:${parentQueueName}`, id: "p" };
      await c.flowProducer().add({
        name: "parent",
        queueName: parentQueueName,
        opts: { jobId: "p" },
        children: [
          { name: "fast", queueName: childQueueName, opts: { jobId: "fast" } },
          { name: "slow", queueName: childQueueName, opts: { jobId: "slow" } },
        ],
      });
      const releaseSlow = gate();
      c.worker(childQueueName, async (job) => {
        if (job.name === "slow") await releaseSlow.promise;
        return job.name;
      });
      await waitFor("the fast child to complete", async () => (await parentQueue.getJob("p"))!.getDependenciesCount().then((counts) => counts.processed === 1));
      expect(await (await parentQueue.getJob("p"))!.getState()).toBe("waiting-children");
      // The parent's own check: nothing it has not seen has finished, so it stays asleep.
      expect(await wakeWaitingParent(c.connection(), parentKey, 1)).toBe(false);
      expect(await wakeWaitingParent(c.connection(), parentKey)).toBe(true);
      expect(await (await parentQueue.getJob("p"))!.getState()).toBe("waiting");
      expect(await wakeWaitingParent(c.connection(), parentKey)).toBe(false);

      const runs: Array<Record<string, unknown>> = [];
      c.worker(parentQueueName, async (job, token) => {
        runs.push(await job.getChildrenValues());
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
        return runs.length;
      });
      await waitFor("the woken parent to wait again", async () => runs.length === 1 && (await (await parentQueue.getJob("p"))!.getState()) === "waiting-children");
      releaseSlow.open();
      await waitFor("the parent to complete", async () => (await parentQueue.getJob("p"))?.finishedOn);
      expect(runs).toEqual([{ [`bull:${childQueueName}:fast`]: "fast" }, { [`bull:${childQueueName}:fast`]: "fast", [`bull:${childQueueName}:slow`]: "slow" }]);
    });
  });
}
