import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, redisArgs } from "./_shared.ts";

const jobArgs = {
  id: { type: "positional", required: true, description: "job id, as printed by llmctl task" },
  queue: { type: "string", valueHint: "QUEUE", description: "look only in this queue (when an id exists in several)" },
  ...configArgs,
  ...redisArgs,
  ...jsonArgs,
} as const;

async function jobCommands() {
  return await import("../broker/job-commands.ts");
}

const show = defineVerb({
  meta: { name: "show", description: "Show a job: state, arguments, progress, result or error, attempts, times, worker" },
  args: jobArgs,
  examples: [["llmctl job show 0199c2…", "details of one job"]],
  async run({ args }) {
    await (await jobCommands()).showJob(loadConfigFromFlags(args), { id: args.id, queue: args.queue }, args.json === true);
  },
});

const logs = defineVerb({
  meta: { name: "logs", description: "Print a job's log lines" },
  args: { ...jobArgs, follow: { type: "boolean", alias: "f", description: "keep printing new lines until the job finishes" } },
  examples: [["llmctl job logs 0199c2… --follow", "stream a running job's log"]],
  async run({ args }) {
    await (await jobCommands()).showLogs(loadConfigFromFlags(args), { id: args.id, queue: args.queue }, { json: args.json === true, follow: args.follow === true });
  },
});

const retry = defineVerb({
  meta: { name: "retry", description: "Run a failed (or completed) job again" },
  args: jobArgs,
  examples: [["llmctl job retry 0199c2…", "requeue a failed job"]],
  async run({ args }) {
    await (await jobCommands()).retry(loadConfigFromFlags(args), { id: args.id, queue: args.queue }, args.json === true);
  },
});

const revoke = defineVerb({
  meta: { name: "revoke", description: "Cancel a waiting or delayed job, or abort a running one (it fails with reason 'revoked')" },
  args: jobArgs,
  examples: [["llmctl job revoke 0199c2…", "stop it wherever it is"]],
  async run({ args }) {
    await (await jobCommands()).revoke(loadConfigFromFlags(args), { id: args.id, queue: args.queue }, args.json === true);
  },
});

export default defineVerb({
  meta: { name: "job", description: "Inspect, follow, retry and revoke jobs" },
  subCommands: { show, logs, retry, revoke },
  examples: [
    ["llmctl job show ID", "what happened to a job"],
    ["llmctl job revoke ID", "cancel or abort it"],
  ],
});
