/**
 * Assembles the registry: built-in tasks, command tasks from the config, and the modules of
 * the tasks directory. Modules import `defineTask` and `z` from the virtual module "llmctl",
 * which the compiled binary provides, so user tasks need no build step and no node_modules.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import type { ConfigFile } from "../config/schema.ts";
import { EXIT_USAGE, LlmctlError, UsageError, errorMessage } from "../util/errors.ts";
import { BUILTIN_TASKS } from "./builtin/index.ts";
import { commandTask } from "./command.ts";
import { defineTask, isTaskDefinition, type TaskDefinition } from "./define.ts";
import { TaskRegistry } from "./registry.ts";

const MODULE_EXTENSIONS = /\.(ts|js|mjs|mts)$/;

let virtualModuleRegistered = false;

function registerVirtualModule(): void {
  if (virtualModuleRegistered) return;
  virtualModuleRegistered = true;
  const api = { defineTask, z };
  Bun.plugin({
    name: "llmctl-task-api",
    setup(build) {
      build.module("llmctl", () => ({ exports: api, loader: "object" }));
    },
  });
}

function listModules(directory: string): string[] {
  let entries: string[];
  try {
    if (!statSync(directory).isDirectory()) throw new Error("not a directory");
    entries = readdirSync(directory);
  } catch (error) {
    throw new UsageError(`tasks directory ${directory} cannot be read: ${errorMessage(error)}`, "fix the path in tasks_dir / --tasks-dir, or its permissions");
  }
  return entries
    .filter((name) => MODULE_EXTENSIONS.test(name) && !name.endsWith(".d.ts") && !name.startsWith(".") && !/\.test\.[a-z]+$/.test(name))
    .sort()
    .map((name) => join(directory, name));
}

async function loadModuleTasks(path: string): Promise<TaskDefinition[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new LlmctlError(`task module ${path} failed to load: ${errorMessage(error)}`, {
      exitCode: EXIT_USAGE,
      hint: 'fix the module; it should `import { defineTask, z } from "llmctl"` and export defineTask({...})',
      cause: error,
    });
  }
  const tasks = [...new Set(Object.values(module).filter(isTaskDefinition))];
  if (tasks.length === 0) {
    throw new UsageError(`task module ${path} exports no task`, 'export default defineTask({ name, handler }) (import { defineTask } from "llmctl")');
  }
  for (const task of tasks) {
    if (typeof task.name !== "string" || typeof task.handler !== "function") {
      throw new UsageError(`task module ${path} exports a task without a name or handler`, "give defineTask a name and a handler function");
    }
  }
  return tasks;
}

export interface LoadTasksOptions {
  /** --tasks-dir; otherwise tasks_dir from the config, relative to the config file. */
  tasksDir?: string;
  configPath?: string;
}

export function tasksDirectory(config: ConfigFile, options: LoadTasksOptions): string | undefined {
  if (options.tasksDir) return resolve(options.tasksDir);
  if (!config.tasks_dir) return undefined;
  return resolve(options.configPath ? dirname(options.configPath) : process.cwd(), config.tasks_dir);
}

export async function loadTaskRegistry(config: ConfigFile, options: LoadTasksOptions = {}): Promise<TaskRegistry> {
  const definitions: TaskDefinition[] = [...BUILTIN_TASKS];
  for (const [name, taskOptions] of Object.entries(config.tasks)) {
    if (taskOptions.kind === "command") definitions.push(commandTask(name, taskOptions));
  }
  const directory = tasksDirectory(config, options);
  if (directory) {
    registerVirtualModule();
    for (const path of listModules(directory)) definitions.push(...(await loadModuleTasks(path)));
  }
  return new TaskRegistry(definitions, config);
}
