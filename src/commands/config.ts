import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, redisArgs } from "./_shared.ts";
import { formatDiagnostic } from "../config/diagnostics.ts";
import { editConfig, editorCommand } from "../config/edit.ts";
import { locateConfig, loadConfig } from "../config/load.ts";
import { effectiveConfig, scheduleRows, workerRoleRows } from "../config/report.ts";
import { configJsonSchema } from "../config/schema.ts";
import { writeStarterConfig } from "../config/template.ts";
import { UsageError } from "../util/errors.ts";
import { printJson, printRows } from "../util/output.ts";
import { stringify } from "yaml";

const init = defineVerb({
  meta: { name: "init", description: "Write a commented starter config (and its JSON Schema beside it)" },
  args: {
    file: { type: "positional", required: false, default: "llmctl.yaml", description: "where to write it" },
    force: { type: "boolean", description: "overwrite an existing file" },
  },
  examples: [
    ["llmctl config init", "write ./llmctl.yaml"],
    ["llmctl config init deploy/llmctl.yaml --force", "overwrite an existing file"],
  ],
  run({ args }) {
    const result = writeStarterConfig(args.file, { force: args.force });
    console.log(`wrote ${result.configPath}`);
    if (result.schemaPath) console.log(`wrote ${result.schemaPath} (editor completion)`);
    console.log(`next: llmctl config validate -c ${args.file}`);
  },
});

const validate = defineVerb({
  meta: { name: "validate", description: "Check the config and report every error with file:line:col (exit 2 on errors)" },
  args: { ...configArgs, ...jsonArgs },
  examples: [
    ["llmctl config validate", "check ./llmctl.yaml"],
    ["llmctl config validate -c deploy/llmctl.yaml --env production", "check with an environment applied"],
  ],
  async run({ args }) {
    const loaded = loadConfig({ configPath: args.config, environment: args.env });
    await (await import("../broker/task-references.ts")).checkTaskReferences(loaded);
    const file = loaded.path ?? "built-in default contract";
    if (args.json) {
      printJson({ valid: true, file, environment: loaded.environment ?? null, warnings: loaded.warnings });
      return;
    }
    for (const warning of loaded.warnings) console.error(formatDiagnostic(warning));
    const warnings = loaded.warnings.length;
    console.log(`${file}: valid${warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : ""}`);
  },
});

const show = defineVerb({
  meta: { name: "show", description: "Print the effective config after environment and env variables, secrets redacted" },
  args: { ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [
    ["llmctl config show", "YAML with where Redis settings came from"],
    ["LLMCTL_REDIS_URL=redis://r:6379/1 llmctl config show --json", "see an env override applied"],
  ],
  run({ args }) {
    const effective = effectiveConfig(loadConfigFromFlags(args));
    if (args.json) printJson(effective);
    else process.stdout.write(stringify(effective));
  },
});

const edit = defineVerb({
  meta: { name: "edit", description: "Open the config in $EDITOR, validate it after saving, and keep the file valid" },
  args: { ...configArgs },
  examples: [
    ["llmctl config edit", "edit ./llmctl.yaml with $VISUAL or $EDITOR"],
    ["EDITOR='code --wait' llmctl config edit -c deploy/llmctl.yaml", "use VS Code"],
  ],
  run({ args }) {
    const location = locateConfig({ configPath: args.config });
    if (!location.path) {
      throw new UsageError("no config file to edit (using the built-in contract)", "create one with: llmctl config init");
    }
    const interactive = process.stdin.isTTY === true;
    editConfig(location.path, {
      editor: editorCommand(process.env),
      askReopen: interactive ? () => (prompt("Re-open the editor to fix them? [Y/n]") ?? "").trim().toLowerCase() !== "n" : undefined,
      log: (line) => console.error(line),
    });
  },
});

const workers = defineVerb({
  meta: { name: "workers", description: "List worker roles, their hostnames and queues" },
  args: { ...configArgs, ...jsonArgs },
  examples: [["llmctl config workers --env production", "roles as deployed in production"]],
  run({ args }) {
    const { config } = loadConfigFromFlags(args);
    printRows(workerRoleRows(config), [
      { key: "role", header: "ROLE" },
      { key: "queue", header: "QUEUE" },
      { key: "hostnames", header: "HOSTNAMES" },
      { key: "host_queues", header: "HOST QUEUES" },
    ], { json: args.json, empty: "no worker roles defined (add them under workers:)" });
  },
});

const schedules = defineVerb({
  meta: { name: "schedules", description: "List schedules with their next three fire times" },
  args: { ...configArgs, ...jsonArgs },
  examples: [["llmctl config schedules", "next fire times in each schedule's time zone, with UTC offset"]],
  run({ args }) {
    const { config } = loadConfigFromFlags(args);
    const rows = scheduleRows(config, new Date()).map((row) => (args.json ? row : { ...row, next: row.next.join("\n") }));
    printRows(rows, [
      { key: "name", header: "NAME" },
      { key: "cron", header: "CRON" },
      { key: "timezone", header: "TIMEZONE" },
      { key: "task", header: "TASK" },
      { key: "targets", header: "TARGETS" },
      { key: "next", header: "NEXT FIRE TIMES" },
      { key: "enabled", header: "ENABLED" },
    ], { json: args.json, empty: "no schedules defined (add them under schedules:)" });
  },
});

const schema = defineVerb({
  meta: { name: "schema", description: "Print the JSON Schema of llmctl.yaml" },
  examples: [["llmctl config schema > llmctl.schema.json", "for editors that do not read the $schema comment"]],
  run() {
    printJson(configJsonSchema());
  },
});

export default defineVerb({
  meta: { name: "config", description: "Configuration as code: init, validate, show, edit, workers, schedules" },
  subCommands: { init, validate, show, edit, workers, schedules, schema },
  examples: [
    ["llmctl config init && llmctl config validate", "start a new config"],
    ["llmctl config show --env production", "what production runs with"],
  ],
});
