import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, redisArgs, tasksDirArgs } from "./_shared.ts";

const nameArg = { name: { type: "positional", required: true, description: "schedule name (see llmctl schedule list)" } } as const;

async function scheduleCommands() {
  return await import("../broker/schedule-commands.ts");
}

const list = defineVerb({
  meta: { name: "list", description: "Schedules with their state in Redis: paused, last fire time and its jobs' outcome, next fire time, the active beat" },
  args: { ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [
    ["llmctl schedule list", "every schedule, and which beat dispatches them"],
    ["llmctl schedule list --json", "the same as JSON (what the studio shows)"],
  ],
  async run({ args }) {
    await (await scheduleCommands()).listSchedules(loadConfigFromFlags(args), args.json === true);
  },
});

const pause = defineVerb({
  meta: { name: "pause", description: "Pause a schedule: its fire times are skipped until it is resumed (kept in Redis across restarts)" },
  args: { ...nameArg, ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [["llmctl schedule pause workspace_cleanup", "stop the hourly cleanup for now"]],
  async run({ args }) {
    await (await scheduleCommands()).pauseOrResume(loadConfigFromFlags(args), args.name, true, args.json === true);
  },
});

const resume = defineVerb({
  meta: { name: "resume", description: "Resume a paused schedule from its next fire time (skipped ones are not caught up)" },
  args: { ...nameArg, ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [["llmctl schedule resume workspace_cleanup", "run it again from the next fire time"]],
  async run({ args }) {
    await (await scheduleCommands()).pauseOrResume(loadConfigFromFlags(args), args.name, false, args.json === true);
  },
});

const trigger = defineVerb({
  meta: { name: "trigger", description: "Dispatch a schedule's task to its targets now, once, outside its cron (also when paused)" },
  args: { ...nameArg, ...configArgs, ...redisArgs, ...tasksDirArgs, ...jsonArgs },
  examples: [
    ["llmctl schedule trigger workspace_cleanup", "run the cleanup now"],
    ["llmctl schedule trigger security_updates --json", "the jobs it sent, as JSON"],
  ],
  async run({ args }) {
    await (await scheduleCommands()).trigger(loadConfigFromFlags(args), args.name, { tasksDir: args["tasks-dir"], json: args.json === true });
  },
});

export default defineVerb({
  meta: { name: "schedule", description: "List, pause, resume and trigger the config's schedules" },
  subCommands: { list, pause, resume, trigger },
  examples: [
    ["llmctl schedule list", "state of every schedule"],
    ["llmctl schedule pause nightly && llmctl schedule resume nightly", "pause and resume; both survive beat restarts"],
    ["llmctl schedule trigger nightly", "run it once now"],
  ],
});
