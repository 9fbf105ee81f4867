/** The argv template of command tasks: "{name}" fills in an argument, "{name...}" splices an array. */
import type { TaskOptions } from "./schema.ts";

export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}/g;

export interface TemplateProblem {
  index: number;
  message: string;
}

/** Problems with a template against its declared arguments (checked when the config loads). */
export function checkCommandTemplate(template: string[], args: TaskOptions["args"] = {}): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  template.forEach((element, index) => {
    for (const match of element.matchAll(PLACEHOLDER)) {
      const [whole, name, splice] = match;
      const spec = args[name!];
      if (!spec) {
        problems.push({ index, message: `placeholder {${name}${splice ?? ""}} names no argument; declare it under args:` });
      } else if (splice && (whole !== element || spec.type !== "array")) {
        problems.push({ index, message: `{${name}...} must be a whole element and ${name} an array argument` });
      } else if (!splice && spec.type === "array") {
        problems.push({ index, message: `${name} is an array; splice it with "{${name}...}" as a whole element` });
      }
    }
  });
  return problems;
}
