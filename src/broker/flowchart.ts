/**
 * services.tasks.run_flowchart: a flowchart — nodes (tasks with arguments and targets) and edges
 * (optionally conditioned on the result of the node they leave) — given inline or by name from
 * the config's `flowcharts:`. It is checked completely when enqueued and expanded into the job's
 * arguments, so the job runs exactly what was checked (even if the config changes meanwhile);
 * the workflow engine (workflow.ts) runs it with each edge as a dependency of the node it enters.
 */
import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { LoadedConfig } from "../config/load.ts";
import { errorAt, formatPath, type Diagnostic } from "../config/diagnostics.ts";
import { flowchartProblems } from "../config/graph.ts";
import { FLOWCHART_NAME, flowchartEdgeSchema, flowchartSchema, type ConfigFile, type Flowchart } from "../config/schema.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { didYouMean } from "../util/suggest.ts";
import { EnqueueError, fieldSegments } from "./producer.ts";
import { planNode, type WorkflowNode } from "./workflow.ts";

export const flowchartArgsSchema = z
  .strictObject({
    name: z.string().max(200).optional().describe("a label in the result and the job log (default: the flowchart's name)"),
    flowchart: z
      .string()
      .regex(FLOWCHART_NAME, "flowchart names use letters, digits, '_', '.' and '-'")
      .optional()
      .describe("the name of a flowchart under flowcharts: in the config, instead of nodes and edges"),
    nodes: flowchartSchema.shape.nodes.optional().describe("the tasks: [{ id, task, args?, targets?, join? }]"),
    edges: z.array(flowchartEdgeSchema).max(1000).optional().describe("[{ from, to, when?, match? }]: `to` runs after `from` succeeded, if `when` holds for its result"),
  })
  .superRefine((args, context) => {
    if (args.flowchart === undefined && args.nodes === undefined) {
      context.addIssue({ code: "custom", path: ["nodes"], message: "give the flowchart's nodes (and edges), or the name of one from the config as flowchart" });
    }
    if (args.flowchart !== undefined && (args.nodes !== undefined || args.edges !== undefined)) {
      context.addIssue({ code: "custom", path: ["flowchart"], message: "give either flowchart (a name from the config) or nodes and edges, not both" });
    }
  });

export type FlowchartArgs = z.output<typeof flowchartArgsSchema>;

function namedFlowchart(config: ConfigFile, name: string): Flowchart | undefined {
  return Object.hasOwn(config.flowcharts, name) ? config.flowcharts[name] : undefined;
}

/**
 * Everything that can be checked before the job is enqueued — the name, the graph (unique ids,
 * known nodes, no cycle), each node's task, arguments and targets — returning the arguments to
 * enqueue: nodes and edges, with each node's arguments validated (defaults applied). Errors name
 * the field: "nodes[1].task", "edges[2].to", or "flowchart" for a named one (with its place in
 * the config in the message).
 */
export function expandFlowchart(config: ConfigFile, registry: TaskRegistry, args: FlowchartArgs): FlowchartArgs {
  const name = args.flowchart;
  let definition: { nodes: Flowchart["nodes"]; edges: Flowchart["edges"] };
  if (name === undefined) {
    definition = { nodes: args.nodes ?? [], edges: args.edges ?? [] };
  } else {
    const found = namedFlowchart(config, name);
    const names = Object.keys(config.flowcharts);
    if (!found) throw new EnqueueError(`unknown flowchart "${name}"${didYouMean(name, names)}`, "flowchart", names.length ? `flowcharts in the config: ${names.join(", ")}` : "define it under flowcharts: in the config, or give nodes and edges");
    definition = found;
  }
  // A named flowchart's mistakes are in the config, not in these arguments: say where.
  const place = name === undefined ? "" : `flowcharts.${name}.`;
  const refuse = (error: EnqueueError): never => {
    throw name === undefined ? error : new EnqueueError(`${place}${error.message}`, "flowchart", error.hint, error.problems);
  };
  const [problem] = flowchartProblems(definition);
  if (problem) refuse(new EnqueueError(`${formatPath(problem.path)}: ${problem.message}`, formatPath(problem.path), problem.fix));
  const nodes = definition.nodes.map((node, index) => {
    try {
      return { ...node, args: planNode(config, registry, `nodes[${index}]`, node) };
    } catch (error) {
      if (error instanceof EnqueueError) refuse(error);
      throw error;
    }
  });
  const label = args.name ?? name;
  return { ...(label === undefined ? {} : { name: label }), nodes, edges: definition.edges };
}

/**
 * The flowchart a job runs: its own nodes and edges (a producer expanded a named one), or — for a
 * job another client added with only a name — the worker's config's flowchart of that name.
 */
export function flowchartToRun(config: ConfigFile, args: FlowchartArgs): { name?: string; nodes: Flowchart["nodes"]; edges: Flowchart["edges"] } {
  if (args.nodes) return { name: args.name, nodes: args.nodes, edges: args.edges ?? [] };
  const found = namedFlowchart(config, args.flowchart!);
  if (!found) throw new UnrecoverableError(`unknown flowchart "${args.flowchart}": this worker's config has no such flowchart`);
  const [problem] = flowchartProblems(found);
  if (problem) throw new UnrecoverableError(`flowcharts.${args.flowchart}.${formatPath(problem.path)}: ${problem.message}`);
  return { name: args.name ?? args.flowchart, nodes: found.nodes, edges: found.edges };
}

/** The engine's graph: each node runs after the nodes its incoming edges leave, with their conditions. */
export function flowchartNodes(flowchart: { nodes: Flowchart["nodes"]; edges: Flowchart["edges"] }): WorkflowNode[] {
  return flowchart.nodes.map((node) => {
    const incoming = flowchart.edges.filter((edge) => edge.to === node.id);
    const conditions = Object.fromEntries(incoming.flatMap((edge) => (edge.when ? [[edge.from, { when: edge.when, match: edge.match }]] : [])));
    return { id: node.id, task: node.task, args: node.args, ...(node.targets ? { targets: node.targets } : {}), after: incoming.map((edge) => edge.from), conditions, join: node.join };
  });
}

/**
 * `config validate`: each named flowchart's tasks, arguments and targets against the task
 * registry, as an enqueue would check them, at their file:line:col. (The graph itself is checked
 * when the config loads.)
 */
export function flowchartDiagnostics(loaded: LoadedConfig, registry: TaskRegistry): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const [name, flowchart] of Object.entries(loaded.config.flowcharts)) {
    flowchart.nodes.forEach((node, index) => {
      try {
        planNode(loaded.config, registry, `nodes[${index}]`, node);
      } catch (error) {
        if (!(error instanceof EnqueueError)) throw error;
        const path = ["flowcharts", name, ...fieldSegments(error.field)];
        const message = error.message.replace(/^nodes\[\d+\]: /, "");
        diagnostics.push(errorAt(loaded, path, message, error.hint));
      }
    });
  }
  return diagnostics;
}

