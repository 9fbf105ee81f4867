import { expandFlowchart, flowchartArgsSchema, flowchartNodes, flowchartToRun } from "../../broker/flowchart.ts";
import { FLOWCHART_TASK, GRAPH_TASK_OPTIONS, runGraphTransition } from "../../broker/workflow.ts";
import { defineTask } from "../define.ts";

/**
 * Runs a flowchart: a graph of tasks whose edges may test the result of the node they leave.
 * Like llmctl.workflow, each run of the handler is one transition of a few Redis calls; between
 * transitions the job waits for its children in waiting-children and holds no worker slot, and it
 * is woken as soon as any child finishes, so every node starts when its own dependencies are done.
 */
export default defineTask({
  name: FLOWCHART_TASK,
  description: "Run a flowchart: tasks as nodes, edges that may test the previous node's result; the result lists each node's outcome per target, or why it was skipped",
  ...GRAPH_TASK_OPTIONS,
  args: flowchartArgsSchema,
  validate(args, { config, registry }) {
    return expandFlowchart(config, registry, args);
  },
  async handler(context) {
    const flowchart = flowchartToRun(context.config, context.args);
    return await runGraphTransition(context, "flowchart", { nodes: flowchartNodes(flowchart), name: flowchart.name });
  },
});
