/** `llmctl job show|logs|retry|revoke`: one job, found by id across the known queues. */
import type { LoadedConfig } from "../config/load.ts";
import { printJson } from "../util/output.ts";
import { withBroker } from "./broker.ts";
import { Inspector, type JobDetail } from "./inspector.ts";
import { retryJob, revokeJob, waitForState } from "./job-control.ts";

export interface JobRef {
  id: string;
  queue?: string;
}

/** How long `job revoke` waits to see a running job stop before reporting. */
const REVOKE_CONFIRM_MS = 3000;

function describe(detail: JobDetail): string {
  const lines = [
    `job:       ${detail.id}`,
    `task:      ${detail.task}`,
    `queue:     ${detail.queue}`,
    `state:     ${detail.state}`,
    `attempts:  ${detail.attempts_made}/${detail.attempts}`,
    `created:   ${detail.created_at ?? "-"}`,
    `started:   ${detail.started_at ?? "-"}`,
    `finished:  ${detail.finished_at ?? "-"}`,
    `worker:    ${detail.worker ?? "-"}`,
    `progress:  ${JSON.stringify(detail.progress)}`,
    `args:      ${JSON.stringify(detail.args)}`,
  ];
  if (detail.meta.target) lines.push(`target:    ${detail.meta.target}`);
  if (detail.delay_until) lines.push(`delayed until: ${detail.delay_until}`);
  if (detail.result !== null) lines.push(`result:    ${JSON.stringify(detail.result, null, 2).replace(/\n/g, "\n           ")}`);
  if (detail.error) lines.push(`error:     ${detail.error.message}`, ...(detail.error.stack ? [`stack:\n${detail.error.stack}`] : []));
  return `${lines.join("\n")}\n`;
}

export async function showJob(loaded: LoadedConfig, ref: JobRef, json: boolean): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const detail = await inspector.detail(await inspector.findJob(ref.id, ref.queue));
    if (json) printJson({ ...detail, logs: await inspector.logs(await inspector.findJob(ref.id, detail.queue)) });
    else process.stdout.write(describe(detail));
  });
}

export async function showLogs(loaded: LoadedConfig, ref: JobRef, options: { json: boolean; follow: boolean }): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const job = await inspector.findJob(ref.id, ref.queue);
    let printed = 0;
    for (;;) {
      const logs = await inspector.logs(job);
      const fresh = logs.slice(printed);
      printed = logs.length;
      if (options.json && !options.follow) {
        printJson(logs);
        return;
      }
      for (const line of fresh) process.stdout.write(options.json ? `${JSON.stringify(line)}\n` : `${line}\n`);
      if (!options.follow) return;
      const state = await job.getState();
      if (state === "completed" || state === "failed") return;
      await Bun.sleep(500);
    }
  });
}

export async function retry(loaded: LoadedConfig, ref: JobRef, json: boolean): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const result = await retryJob(await inspector.findJob(ref.id, ref.queue));
    if (json) printJson(result);
    else process.stdout.write(`job ${result.id} (${result.previous_state}) queued again on ${result.queue}\n`);
  });
}

export async function revoke(loaded: LoadedConfig, ref: JobRef, json: boolean): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const job = await inspector.findJob(ref.id, ref.queue);
    const outcome = await revokeJob(broker, job);
    let finalState: string | undefined;
    if (outcome.outcome === "aborting") finalState = await waitForState(job, ["failed", "completed"], REVOKE_CONFIRM_MS);
    if (json) {
      printJson({ ...outcome, state: finalState ?? (outcome.outcome === "removed" ? "removed" : outcome.previous_state) });
      return;
    }
    const messages = {
      removed: `job ${outcome.id} was ${outcome.previous_state}; removed from ${outcome.queue} before it ran`,
      finished: `job ${outcome.id} had already ${outcome.previous_state === "completed" ? "completed" : "failed"}; nothing to revoke`,
      aborting:
        finalState === "failed" || finalState === "completed"
          ? `job ${outcome.id} was running; its worker stopped it (now ${finalState})`
          : `job ${outcome.id} is running; revocation recorded, its worker aborts it (still ${finalState} after ${REVOKE_CONFIRM_MS / 1000}s)`,
    };
    process.stdout.write(`${messages[outcome.outcome]}\n`);
  });
}
