/**
 * JobFlow (tasks/define.ts) over BullMQ: a running job adds children with `parent` set, so
 * BullMQ records each child's result (or, with ignoreDependencyOnFailure, its final failure) in
 * the parent's dependency hashes, and moves the parent back to wait once none is pending.
 */
import { WaitingChildrenError, type Job } from "bullmq";
import type { ChildJob, ChildOutcome, JobFlow } from "../tasks/define.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { Broker } from "./broker.ts";
import { buildJobs, describeJobs, planEnqueue } from "./producer.ts";

export function jobFlow(broker: Broker, registry: TaskRegistry, job: Job, token: string): JobFlow {
  const childKey = (child: ChildJob) => `${broker.prefix}:${child.queue}:${child.id}`;
  return {
    async addChildren(key, task, args, targets) {
      const plan = planEnqueue(broker.config, registry, task, args, { targets });
      const jobs = buildJobs(registry, task, plan, {
        source: "workflow",
        jobId: `${job.id}.${key}`,
        flowParent: { id: job.id!, queue: job.queueQualifiedName },
      });
      await broker.flowProducer().addBulk(jobs);
      return describeJobs(task, plan, jobs);
    },

    async outcomes(children) {
      const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
      return children.map((child): ChildOutcome => {
        const key = childKey(child);
        if (key in values) return { id: child.id, state: "completed", result: values[key] ?? null };
        if (key in failures) return { id: child.id, state: "failed", error: failures[key] };
        return { id: child.id, state: "pending" };
      });
    },

    async waitForChildren() {
      // false: nothing pending (the children finished before this call); the handler goes on.
      if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    },
  };
}
