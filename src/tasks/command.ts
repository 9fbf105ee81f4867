/**
 * Command tasks: `tasks: { name: { kind: command, command: [...], args: {...} } }` in the config.
 * The argv template is filled from validated arguments: "{name}" is replaced by the value,
 * "{name...}" (a whole element) splices an array. No shell is involved, so values cannot
 * inject commands.
 */
import { PLACEHOLDER } from "../config/command-template.ts";
import type { TaskOptions } from "../config/schema.ts";
import { argSpecsToSchema } from "./args.ts";
import { defineTask, type TaskDefinition } from "./define.ts";
import { childEnvironment, lastLines, runProcess } from "./process.ts";
import { RuntimeError } from "../util/errors.ts";

export function fillTemplate(template: string[], values: Record<string, unknown>): string[] {
  return template.flatMap((element) => {
    const whole = /^\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}$/.exec(element);
    if (whole) {
      const value = values[whole[1]!];
      return Array.isArray(value) ? value.map(String) : [];
    }
    let missing = false;
    const filled = element.replace(PLACEHOLDER, (_, name: string) => {
      const value = values[name];
      if (value === undefined || value === null) missing = true;
      return value === undefined || value === null ? "" : String(value);
    });
    // An element whose only content is an unset optional argument is dropped, not passed as "".
    return missing && filled === "" ? [] : [filled];
  });
}

export function commandTask(name: string, options: TaskOptions): TaskDefinition {
  const template = options.command ?? [];
  return defineTask({
    name,
    description: options.description ?? `Runs ${template.join(" ")}`,
    args: argSpecsToSchema(options.args ?? {}),
    positional: Object.entries(options.args ?? {}).filter(([, spec]) => spec.required).map(([argName]) => argName),
    async handler({ args, signal, config, log }) {
      const argv = fillTemplate(template, args as Record<string, unknown>);
      const result = await runProcess(argv, {
        cwd: options.cwd,
        env: childEnvironment(config.shell),
        signal,
        onLine: (stream, line) => void log(`${stream}: ${line}`),
      });
      if (result.exit_code !== 0) {
        const detail = lastLines(result.stderr_tail) || lastLines(result.stdout_tail);
        throw new RuntimeError(`${argv[0]} exited with ${result.exit_code === null ? `signal ${result.signal}` : `code ${result.exit_code}`}${detail ? `: ${detail}` : ""}`);
      }
      return { argv, ...result };
    },
  });
}
