/**
 * BullMQ job inserts that join a caller's MULTI, so that adding jobs and recording why they were
 * added (a schedule's fire time, a workflow step) happen in one transaction: either both are in
 * Redis or neither is.
 *
 * FlowProducer.addBulk builds the same inserts and runs them in a MULTI of its own; this subclass
 * reuses its node building (addNodes) and its backend's per-job insert (addJobToTransaction,
 * public for exactly this) and leaves EXEC to the caller. It relies on BullMQ 6.7.0's internals,
 * which package.json pins; the integration tests of schedule-store.ts run it on both backends.
 */
import { createIORedisClient, FlowProducer, QueueKeys, type FlowJob, type FlowJobEntry } from "bullmq";
import type { ChainableCommander, Redis } from "ioredis";

/** A MULTI that BullMQ can queue its scripts on (it calls them through runCommand). */
export type JobTransaction = ChainableCommander;

export class JobInserter extends FlowProducer {
  constructor(private readonly redis: Redis, prefix: string) {
    super({ connection: redis, prefix });
  }

  /** A MULTI on the inserter's connection; queue your own commands on it, then the inserts, then exec(). */
  async transaction(): Promise<JobTransaction> {
    // BullMQ defines its scripts on the connection when it is ready; a MULTI made before lacks them.
    await this.getBackend().waitUntilReady();
    return createIORedisClient(this.redis).multi() as unknown as JobTransaction;
  }

  /** Queues the inserts of plain jobs (no children) on `multi`; the jobs exist once the caller's EXEC succeeds. */
  async queueInserts(multi: JobTransaction, jobs: FlowJob[]): Promise<void> {
    // Trees and children of existing jobs need BullMQ's parent bookkeeping after the inserts (addBulk does it).
    if (jobs.some((job) => job.children?.length || job.opts?.parent)) throw new Error("queueInserts adds plain jobs; use addBulk for flows");
    const backend = this.getBackend();
    const entries: FlowJobEntry[] = [];
    await this.addNodes(entries, jobs);
    for (const entry of entries) {
      await backend.addJobToTransaction(multi as never, entry.jobData, entry.jobId, entry.parentKeyOpts, new QueueKeys(entry.prefix).getKeys(entry.queueName));
    }
  }
}
