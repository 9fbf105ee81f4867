import { advanceWorkflow, validateWorkflow, workflowArgsSchema, WORKFLOW_TASK } from "../../broker/workflow.ts";
import { defineTask } from "../define.ts";

/**
 * Runs a workflow (steps in order, or a graph of nodes) as children of this job. Each run of the
 * handler is one transition and takes milliseconds; in between, the job waits for its children
 * in BullMQ's waiting-children state without holding a worker slot.
 */
export default defineTask({
  name: WORKFLOW_TASK,
  description: "Run steps in order (each after every target of the previous one succeeded), or a graph of nodes; the result lists each step's outcome per target",
  // A transition that failed on a Redis error is retried; a failed step fails the workflow at once.
  attempts: 3,
  backoff: { type: "exponential", delay: "1s" },
  args: workflowArgsSchema,
  validate(args, { config, registry }) {
    validateWorkflow(config, registry, args);
  },
  async handler({ args, job, flow, progress }) {
    if (!flow) throw new Error(`${WORKFLOW_TASK} runs only in an llmctl worker (it adds child jobs)`);
    return await advanceWorkflow({ args, flow, saved: job.progress, save: (state) => progress(state as unknown as Record<string, unknown>) });
  },
});
