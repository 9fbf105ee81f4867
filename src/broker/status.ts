/** `llmctl task status`: live workers from heartbeats, per-queue counts, beats and schedules. */
import type { LoadedConfig } from "../config/load.ts";
import { printJson, printRows } from "../util/output.ts";
import { formatDuration } from "../util/duration.ts";
import { withBroker } from "./broker.ts";
import { Inspector } from "./inspector.ts";
import { describeLease, renderSchedules } from "./schedule-commands.ts";

export async function printStatus(loaded: LoadedConfig, options: { json?: boolean }): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const [workers, queues, beats, lease, schedules] = await Promise.all([inspector.workers(), inspector.queueCounts(), inspector.beats(), inspector.lease(), inspector.schedules()]);
    if (options.json) {
      printJson({ workers, queues, beats, lease, schedules });
      return;
    }
    const now = Date.now();
    process.stdout.write("WORKERS\n");
    printRows(
      workers.map((worker) => ({
        worker: worker.id,
        role: worker.role,
        queues: worker.queues.length > 3 ? `${worker.queues.slice(0, 3).join(", ")} +${worker.queues.length - 3}` : worker.queues,
        slots: `${worker.slots_in_use}/${worker.concurrency}`,
        processed: worker.processed,
        failed: worker.failed,
        heartbeat: `${formatDuration(now - Date.parse(worker.beat_at))} ago`,
      })),
      [
        { key: "worker", header: "ID" },
        { key: "role", header: "ROLE" },
        { key: "queues", header: "QUEUES" },
        { key: "slots", header: "SLOTS" },
        { key: "processed", header: "PROCESSED" },
        { key: "failed", header: "FAILED" },
        { key: "heartbeat", header: "HEARTBEAT" },
      ],
      { empty: "no live workers (start one with: llmctl worker --queues all)" },
    );
    process.stdout.write("\nQUEUES\n");
    printRows(
      queues.map((queue) => ({ ...queue, paused: queue.paused ? "yes" : "" })),
      [
        { key: "queue", header: "QUEUE" },
        { key: "waiting", header: "WAITING" },
        { key: "active", header: "ACTIVE" },
        { key: "delayed", header: "DELAYED" },
        { key: "failed", header: "FAILED" },
        { key: "completed", header: "COMPLETED" },
        { key: "paused", header: "PAUSED" },
      ],
      {},
    );
    process.stdout.write(`\nSCHEDULES\n${renderSchedules(schedules)}\n${describeLease(lease, beats)}\n`);
  });
}
