/**
 * Every place a config names a task, checked against the task registry: schedules (task,
 * arguments, targets, steps), named flowcharts' nodes, and the tools agents may call. Loading a
 * config cannot do this (the registry needs the tasks directory), so `config validate` runs it
 * after loading, and beat, `schedule trigger` and the worker hit the same checks later.
 */
import type { LoadedConfig } from "../config/load.ts";
import { ConfigError, errorAt, type Diagnostic } from "../config/diagnostics.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { didYouMean } from "../util/suggest.ts";
import { flowchartDiagnostics } from "./flowchart.ts";
import { planSchedules } from "./schedule-plan.ts";

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

function scheduleDiagnostics(loaded: LoadedConfig, registry: TaskRegistry): Diagnostic[] {
  try {
    planSchedules(loaded, registry);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.diagnostics;
    throw error;
  }
}

export function taskReferenceDiagnostics(loaded: LoadedConfig, registry: TaskRegistry): Diagnostic[] {
  return [...scheduleDiagnostics(loaded, registry), ...flowchartDiagnostics(loaded, registry), ...agentToolDiagnostics(loaded, registry)];
}
