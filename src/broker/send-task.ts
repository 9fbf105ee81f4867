/** `llmctl task NAME …`: validate before connecting, enqueue, and with --wait follow the jobs. */
import type { LoadedConfig } from "../config/load.ts";
import { argsFromCommandLine } from "../tasks/cli-args.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import { printJson, printRows } from "../util/output.ts";
import { ProgressLine } from "../util/progress.ts";
import { withBroker } from "./broker.ts";
import { waitForJobs, type JobOutcome } from "./job-waiter.ts";
import { planEnqueue, Producer, type EnqueueOptions } from "./producer.ts";

export interface SendTaskRequest {
  task: string;
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
  const args = argsFromCommandLine(definition, request.words, request.data);
  const options: EnqueueOptions = { ...request.options, source: "cli" };
  planEnqueue(loaded.config, registry, request.task, args, options);

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
    report(outcomes, request.json);
    return outcomes.every((outcome) => outcome.state === "completed") ? 0 : 1;
  });
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
