/**
 * Every place a config names a task, checked against the task registry: schedules (task,
 * arguments, targets, steps), named flowcharts' nodes, and the tools agents may call. Loading a
 * config cannot do this (the registry needs the tasks directory), so `config validate` runs it
 * after loading, and beat, `schedule trigger` and the worker hit the same checks later.
 */
import type { LoadedConfig } from "../config/load.ts";
import { ConfigError, errorAt, type Diagnostic } from "../config/diagnostics.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { didYouMean } from "../util/suggest.ts";
import { flowchartDiagnostics } from "./flowchart.ts";
import { planEachSchedule } from "./schedule-plan.ts";

function agentToolDiagnostics(loaded: LoadedConfig, registry: TaskRegistry): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const [name, agent] of Object.entries(loaded.config.agents)) {
    agent.tools.forEach((tool, index) => {
      if (registry.get(tool)) return;
      diagnostics.push(errorAt(loaded, ["agents", name, "tools", index], `unknown task "${tool}"${didYouMean(tool, registry.names())}`, "an agent's tools are registered tasks; see them with: llmctl task list"));
    });
  }
  return diagnostics;
}

export function taskReferenceDiagnostics(loaded: LoadedConfig, registry: TaskRegistry): Diagnostic[] {
  return [...planEachSchedule(loaded, registry).diagnostics, ...flowchartDiagnostics(loaded, registry), ...agentToolDiagnostics(loaded, registry)];
}

/** Loads the config's task registry and throws one ConfigError listing every task reference it refutes. */
export async function checkTaskReferences(loaded: LoadedConfig): Promise<void> {
  const diagnostics = taskReferenceDiagnostics(loaded, await loadTaskRegistry(loaded.config, { configPath: loaded.path }));
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
}
