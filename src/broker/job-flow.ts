/**
 * JobFlow (tasks/define.ts) over BullMQ: a running job adds children with `parent` set, so
 * BullMQ records each child's result (or, with ignoreDependencyOnFailure, its final failure) in
 * the parent's dependency hashes. BullMQ moves the parent back to wait only once none is
 * pending; llmctl wakes it as soon as any one finishes (wakeFlowParent), so a workflow starts a
 * node the moment its own dependencies are done, not when everything running beside it is.
 */
import { WaitingChildrenError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { ChildJob, ChildOutcome, JobFlow } from "../tasks/define.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { Broker } from "./broker.ts";
import { revokeJob } from "./job-control.ts";
import { readPayload } from "./payload.ts";
import { buildJobs, describeJobs, planEnqueue } from "./producer.ts";
import { Revocations } from "./revocations.ts";
import wakeScript from "./scripts/wake-flow-parent.lua" with { type: "text" };

interface WakeScript {
  llmctlWakeFlowParent(...keysAndArgs: string[]): Promise<number>;
}

/**
 * Moves the parent `<queueKey>:<id>` from waiting-children to wait. With `seenFinished`, only when
 * more of its children have finished than that (the parent's own check for a wake-up it missed).
 */
export async function wakeWaitingParent(redis: Redis, parent: { queueKey: string; id: string }, seenFinished = -1): Promise<boolean> {
  const scripted = redis as Redis & Partial<WakeScript>;
  if (typeof scripted.llmctlWakeFlowParent !== "function") redis.defineCommand("llmctlWakeFlowParent", { numberOfKeys: 11, lua: wakeScript });
  const { queueKey, id } = parent;
  const job = `${queueKey}:${id}`;
  const keys = [job, `${queueKey}:waiting-children`, `${queueKey}:wait`, `${queueKey}:prioritized`, `${queueKey}:pc`, `${queueKey}:meta`, `${queueKey}:active`, `${queueKey}:marker`, `${queueKey}:events`, `${job}:processed`, `${job}:failed`];
  return (await (scripted as Redis & WakeScript).llmctlWakeFlowParent(...keys, id, String(seenFinished))) === 1;
}

/**
 * Called by the worker when a job has finished for good (completed, or failed its last attempt):
 * if it is a workflow node's job, its workflow may have a node to start now.
 */
export async function wakeFlowParent(broker: Broker, job: Job): Promise<void> {
  const parent = job.parent;
  if (!parent?.id || readPayload(job.data).meta.source !== "workflow") return;
  await wakeWaitingParent(broker.connection, { queueKey: parent.queueKey, id: parent.id });
}

export function jobFlow(broker: Broker, registry: TaskRegistry, job: Job, token: string): JobFlow {
  const childKey = (child: ChildJob) => `${broker.prefix}:${child.queue}:${child.id}`;
  const revocations = new Revocations(broker.connection, broker.keys);
  const revoked = () => revocations.isRevoked(job.queueName, job.id!);
  return {
    async addChildren(key, task, args, targets) {
      const plan = planEnqueue(broker.config, registry, task, args, { targets });
      const jobs = buildJobs(registry, task, plan, {
        source: "workflow",
        jobId: `${job.id}.${key}`,
        flowParent: { id: job.id!, queue: job.queueQualifiedName },
      });
      await broker.flowProducer().addBulk(jobs);
      const children = describeJobs(task, plan, jobs);
      // Read after the write: a revoke records the parent first and then revokes the children it
      // finds, so either it saw these children or this check sees its record (revokeJob). The
      // engine then learns of the revoke from revoked() and ends once these have stopped.
      if (await revoked()) {
        for (const child of children) {
          const added = await broker.queue(child.queue).getJob(child.id);
          if (added) await revokeJob(broker, added);
        }
      }
      return children;
    },

    async outcomes(children) {
      const { processed = {}, unprocessed = [], ignored = {} } = await job.getDependencies();
      const pending = new Set(unprocessed);
      return children.map((child): ChildOutcome => {
        const key = childKey(child);
        if (key in processed) return { id: child.id, state: "completed", result: processed[key] ?? null };
        if (key in ignored) return { id: child.id, state: "failed", error: ignored[key] };
        if (pending.has(key)) return { id: child.id, state: "pending" };
        // Removed while waiting (a revoke): BullMQ drops it from the dependencies without a record.
        return { id: child.id, state: "failed", error: "revoked before it ran" };
      });
    },

    async waitForChildren(seenFinished) {
      // false: nothing pending (the children finished before this call); the handler goes on.
      if (!(await job.moveToWaitingChildren(token))) return;
      // A child that finished after the outcomes were read but before the move found this job
      // still active, so its wake-up did nothing: wake now rather than wait for the next one.
      await wakeWaitingParent(broker.connection, { queueKey: job.queueQualifiedName, id: job.id! }, seenFinished);
      throw new WaitingChildrenError();
    },

    revoked,
  };
}
