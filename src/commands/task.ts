import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, listFlag, positiveIntegerFlag, redisArgs, tasksDirArgs } from "./_shared.ts";
import { durationFlag } from "../util/duration.ts";
import { FlagError } from "../util/errors.ts";

const list = defineVerb({
  meta: { name: "list", description: "List registered tasks with their queue and options" },
  args: { ...configArgs, ...tasksDirArgs, ...jsonArgs },
  examples: [
    ["llmctl task list", "every task this config and tasks directory provide"],
    ["llmctl task list --json", "with each task's argument schema"],
  ],
  async run({ args }) {
    const loaded = loadConfigFromFlags(args);
    const { listTasks } = await import("../tasks/report.ts");
    await listTasks(loaded, { tasksDir: args["tasks-dir"], json: args.json });
  },
});

const status = defineVerb({
  meta: { name: "status", description: "Live workers (from heartbeats) and per-queue job counts" },
  args: { ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [["llmctl task status", "who is consuming what, and how much is waiting"]],
  async run({ args }) {
    const loaded = loadConfigFromFlags(args);
    const { printStatus } = await import("../broker/status.ts");
    await printStatus(loaded, { json: args.json });
  },
});

export default defineVerb({
  meta: { name: "task", description: "Send a task to its queue or targets, optionally wait for the results" },
  args: {
    name: { type: "positional", required: false, description: "task name (see llmctl task list); omit with --steps" },
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    data: { type: "string", valueHint: "JSON", description: "arguments as a JSON object (name=value words are merged over it)" },
    targets: { type: "string", valueHint: "T1,T2", description: "roles (one job per host), role:any, or queues (default: the task's queue)" },
    delay: { type: "string", valueHint: "DURATION", description: "run no earlier than this from now, e.g. 10s" },
    priority: { type: "string", valueHint: "N", description: "1 is the highest priority" },
    attempts: { type: "string", valueHint: "N", description: "total tries, overriding the task's option" },
    "job-id": { type: "string", valueHint: "ID", description: "your own job id (fan-outs append -<hostname>)" },
    steps: { type: "string", valueHint: "FILE", description: "run a workflow: YAML/JSON steps [{ task, args, targets }], each after every target of the previous one succeeded" },
    wait: { type: "boolean", description: "wait for the results; exit 0 only if every target succeeded" },
    timeout: { type: "string", valueHint: "DURATION", description: "with --wait: how long to wait (default 60s)" },
    ...jsonArgs,
  },
  variadic: true,
  subCommands: { list, status },
  examples: [
    ["llmctl task llmctl.ping --wait", "probe the default queue"],
    ["llmctl task install nginx --targets webserver --wait", "one job per webserver host, wait for all"],
    ["llmctl task services.tasks.cleanup_workspaces dry_run=true --wait --json", "name=value arguments, JSON result"],
    ["llmctl task shell --targets database:any -- /bin/df -h /", "any one database host; after -- every word is an argument"],
    ["llmctl task --steps deploy.yaml --wait", "a workflow; prints each step's outcome per target"],
  ],
  async run({ args }) {
    if (args.steps !== undefined && (args.name !== undefined || args.data !== undefined || args.targets !== undefined)) {
      throw new FlagError("--steps runs a workflow: give no task name, --data or --targets with it (each step has its own)", "llmctl task --steps deploy.yaml --wait");
    }
    if (args.steps === undefined && args.name === undefined) throw new FlagError("name a task to send, or give --steps FILE", "llmctl task llmctl.ping --wait");
    const words = args._.slice(1);
    const options = {
      targets: listFlag(args.targets),
      delayMs: args.delay === undefined ? undefined : durationFlag("delay", args.delay),
      priority: args.priority === undefined ? undefined : positiveIntegerFlag("priority", args.priority, 1),
      attempts: args.attempts === undefined ? undefined : positiveIntegerFlag("attempts", args.attempts, 1),
      jobId: args["job-id"],
    };
    const timeoutMs = durationFlag("timeout", args.timeout ?? "60s");
    const loaded = loadConfigFromFlags(args);
    const { sendTask } = await import("../broker/send-task.ts");
    process.exitCode = await sendTask(loaded, {
      task: args.name ?? "llmctl.workflow",
      stepsFile: args.steps,
      words,
      data: args.data,
      options,
      tasksDir: args["tasks-dir"],
      wait: args.wait === true,
      timeoutMs,
      json: args.json === true,
    });
  },
});
