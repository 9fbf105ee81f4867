import { GRAPH_TASK_OPTIONS, runGraphTransition, validateWorkflow, workflowArgsSchema, workflowNodes, WORKFLOW_TASK } from "../../broker/workflow.ts";
import { defineTask } from "../define.ts";

/**
 * Runs a workflow (steps in order, or a graph of nodes) as children of this job. Each run of the
 * handler is one transition and takes milliseconds; in between, the job waits for its children
 * in BullMQ's waiting-children state without holding a worker slot.
 */
export default defineTask({
  name: WORKFLOW_TASK,
  description: "Run steps in order (each after every target of the previous one succeeded), or a graph of nodes; the result lists each step's outcome per target",
  ...GRAPH_TASK_OPTIONS,
  args: workflowArgsSchema,
  validate(args, { config, registry }) {
    validateWorkflow(config, registry, args);
  },
  async handler(context) {
    return await runGraphTransition(context, "workflow", { nodes: workflowNodes(context.args), name: context.args.name });
  },
});
