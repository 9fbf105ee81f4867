/** `llmctl task NAME …`: validate before connecting, enqueue, and with --wait follow the jobs. */
import type { LoadedConfig } from "../config/load.ts";
import { argsFromCommandLine } from "../tasks/cli-args.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import { printJson, printRows } from "../util/output.ts";
import { ProgressLine } from "../util/progress.ts";
import { withBroker, type Broker } from "./broker.ts";
import { waitForJobs, type JobOutcome } from "./job-waiter.ts";
import { planEnqueue, Producer, type EnqueueOptions } from "./producer.ts";
import { readWorkflowFile } from "./workflow-file.ts";
import { WORKFLOW_TASK, type WorkflowProgress } from "./workflow.ts";

export interface SendTaskRequest {
  task: string;
  /** A workflow file (llmctl task --steps): its steps become the arguments of llmctl.workflow. */
  stepsFile?: string;
  words: string[];
  data?: string;
  options: EnqueueOptions;
  tasksDir?: string;
  wait: boolean;
  timeoutMs: number;
  json: boolean;
}

function summarize(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** Returns the exit code: 0, or 1 when --wait saw a target fail or not return. */
export async function sendTask(loaded: LoadedConfig, request: SendTaskRequest): Promise<number> {
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: request.tasksDir, configPath: loaded.path });
  const definition = registry.require(request.task);
  const workflowFile = request.stepsFile ? readWorkflowFile(request.stepsFile) : undefined;
  const args = workflowFile ? workflowFile.args : argsFromCommandLine(definition, request.words, request.data);
  const options: EnqueueOptions = { ...request.options, source: "cli" };
  try {
    planEnqueue(loaded.config, registry, request.task, args, options);
  } catch (error) {
    if (workflowFile) workflowFile.explain(error);
    throw error;
  }

  return await withBroker(loaded, "llmctl:cli", async (broker) => {
    const jobs = await new Producer(broker, registry).enqueue(request.task, args, options);
    if (!request.wait) {
      if (request.json) printJson(jobs);
      else printRows(jobs, [{ key: "id", header: "JOB" }, { key: "queue", header: "QUEUE" }, { key: "target", header: "TARGET" }], {});
      return 0;
    }
    if (!request.json) process.stderr.write(`sent ${request.task} as ${jobs.length} job${jobs.length === 1 ? "" : "s"}; waiting up to ${Math.round(request.timeoutMs / 1000)}s\n`);
    const bar = new ProgressLine();
    const outcomes = await waitForJobs(broker, jobs, {
      timeoutMs: request.timeoutMs,
      onProgress: (fractions, finished) => bar.update(fractions.reduce((a, b) => a + b, 0) / fractions.length, `${finished}/${jobs.length} finished`),
    });
    bar.done();
    if (request.task === WORKFLOW_TASK) await reportWorkflow(broker, outcomes[0]!, request.json);
    else report(outcomes, request.json);
    return outcomes.every((outcome) => outcome.state === "completed") ? 0 : 1;
  });
}

/** A workflow's outcome: its status, then each step's outcome per target (from its result, or its progress when it failed). */
async function reportWorkflow(broker: Broker, outcome: JobOutcome, json: boolean): Promise<void> {
  const job = await broker.queue(outcome.job.queue).getJob(outcome.job.id);
  const progress = (outcome.state === "completed" ? outcome.result : job?.progress) as WorkflowProgress | undefined;
  if (json) {
    printJson({ ...outcome.job, state: outcome.state, error: outcome.error ?? null, workflow: progress ?? null });
    return;
  }
  process.stdout.write(`workflow ${outcome.job.id}: ${outcome.state}${outcome.error ? ` (${outcome.error})` : ""}\n`);
  if (!progress?.nodes) return;
  printRows(
    progress.nodes.flatMap((node) =>
      (node.targets.length ? node.targets : [undefined]).map((target) => ({
        step: node.id,
        task: node.task,
        status: node.status,
        target: target ? (target.hostname ?? target.target ?? target.queue) : "",
        state: target?.state ?? "",
        result: target ? (target.state === "completed" ? summarize(target.result) : (target.error ?? "")) : "",
      })),
    ),
    [
      { key: "step", header: "STEP" },
      { key: "task", header: "TASK" },
      { key: "status", header: "STATUS" },
      { key: "target", header: "TARGET" },
      { key: "state", header: "JOB" },
      { key: "result", header: "RESULT / ERROR" },
    ],
    {},
  );
}

function report(outcomes: JobOutcome[], json: boolean): void {
  if (json) {
    printJson(outcomes.map(({ job, state, result, error }) => ({ ...job, state, result: result ?? null, error: error ?? null })));
    return;
  }
  printRows(
    outcomes.map(({ job, state, result, error }) => ({
      target: job.hostname ?? job.target ?? job.queue,
      job: job.id,
      state,
      result: state === "completed" ? summarize(result) : (error ?? ""),
    })),
    [
      { key: "target", header: "TARGET" },
      { key: "job", header: "JOB" },
      { key: "state", header: "STATE" },
      { key: "result", header: "RESULT / ERROR" },
    ],
    {},
  );
  const missing = outcomes.filter((outcome) => outcome.state === "did not return");
  if (missing.length > 0) {
    process.stdout.write(`did not return: ${missing.map((outcome) => outcome.job.hostname ?? outcome.job.target ?? outcome.job.queue).join(", ")}\n`);
  }
}
