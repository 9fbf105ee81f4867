import { defineTask } from "../define.ts";

/**
 * Decommissioned with the RAG indexer, kept registered and routed so that producers still
 * sending it get a clear answer instead of an unknown-task error.
 */
export default defineTask({
  name: "rag.worker.tasks.run_index_task",
  description: "Decommissioned: returns a 'decommissioned' result (kept so old producers do not break)",
  queue: "llmctl_studio.rag.index",
  attempts: 1,
  handler({ logger, job }) {
    const message = "rag.worker.tasks.run_index_task is decommissioned; nothing was indexed";
    logger.warn({ job: job.id }, message);
    return { status: "decommissioned", task: job.name, message };
  },
});
