/** `llmctl task list`: the registered tasks, their routed queue and options. */
import type { LoadedConfig } from "../config/load.ts";
import { printRows } from "../util/output.ts";
import { loadTaskRegistry } from "./load.ts";

export async function listTasks(loaded: LoadedConfig, options: { tasksDir?: string; json?: boolean }): Promise<void> {
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: options.tasksDir, configPath: loaded.path });
  for (const name of registry.unknownConfiguredTasks()) {
    process.stderr.write(`warning: tasks.${name} in the config configures a task that is not registered\n`);
  }
  const rows = registry.names().map((name) => registry.summary(name));
  printRows(
    options.json ? rows : rows.map(({ args_schema: _schema, ...row }) => row),
    [
      { key: "name", header: "TASK" },
      { key: "queue", header: "QUEUE" },
      { key: "timeout", header: "TIMEOUT" },
      { key: "attempts", header: "ATTEMPTS" },
      { key: "backoff", header: "BACKOFF" },
      { key: "description", header: "DESCRIPTION" },
    ],
    { json: options.json },
  );
}
