/**
 * Runs a citty command tree with the conventions llmctl promises: unknown commands and flags
 * print usage and exit 2, `--help` works at every level and shows examples, and errors are
 * printed as a message plus a hint with the exit code they carry.
 */
import { runCommand, type ArgsDef, type CommandDef } from "citty";
import type { Examples, Verb } from "./_shared.ts";
import { EXIT_FAILURE, EXIT_USAGE, FlagError, LlmctlError, UsageError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

interface Resolved {
  command: AnyCommand;
  /** Names from the root to the command, e.g. ["llmctl", "config", "init"]. */
  path: string[];
  /** The arguments that belong to the resolved command. */
  rest: string[];
}

function isValueFlag(token: string, args: ArgsDef): boolean {
  const name = flagName(token);
  const def = findArg(name, args);
  return def !== undefined && def.type !== "boolean" && !token.includes("=");
}

function flagName(token: string): string {
  return token.replace(/^-{1,2}/, "").replace(/=.*$/, "");
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function findArg(name: string, args: ArgsDef): ArgsDef[string] | undefined {
  const bare = name.startsWith("no-") ? name.slice(3) : name;
  for (const [key, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const alias = "alias" in def ? def.alias : undefined;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const candidate of [name, bare]) {
      if (candidate === key || camel(candidate) === camel(key) || aliases.includes(candidate)) return def;
    }
  }
  return undefined;
}

async function resolveCommand(root: AnyCommand, argv: string[], rootName: string): Promise<Resolved> {
  let command = root;
  const path = [rootName];
  let rest = argv;
  for (;;) {
    const subCommands = command.subCommands ? await resolve(command.subCommands) : undefined;
    if (!subCommands || Object.keys(subCommands).length === 0) return { command, path, rest };
    const args = command.args ? await resolve(command.args) : {};
    let index = 0;
    while (index < rest.length && rest[index]!.startsWith("-")) {
      if (rest[index] === "--") break;
      index += isValueFlag(rest[index]!, args) ? 2 : 1;
    }
    const name = rest[index];
    if (name === undefined || name === "--") return { command, path, rest };
    const sub = subCommands[name];
    if (!sub && typeof command.run === "function") {
      // e.g. `llmctl task NAME …` beside `llmctl task list`: not a subcommand, so an argument.
      return { command, path, rest };
    }
    if (!sub) {
      const names = Object.keys(subCommands);
      throw new UnknownCommand(command, path, `unknown command "${[...path.slice(1), name].join(" ")}"${didYouMean(name, names)}`);
    }
    command = (await resolve(sub)) as AnyCommand;
    path.push(name);
    rest = rest.slice(index + 1);
  }
}

class UnknownCommand extends UsageError {
  constructor(
    readonly command: AnyCommand,
    readonly path: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Rejects flags the command does not define, and surplus positional arguments. */
async function checkArguments(resolved: Resolved): Promise<void> {
  const args = resolved.command.args ? await resolve(resolved.command.args) : {};
  const positionals = Object.values(args).filter((def) => def.type === "positional");
  const variadic = (resolved.command as Verb).variadic === true;
  let positionalCount = 0;
  for (let index = 0; index < resolved.rest.length; index++) {
    const token = resolved.rest[index]!;
    if (token === "--") break;
    if (token.startsWith("-") && token !== "-") {
      const name = flagName(token);
      const def = findArg(name, args);
      if (!def) {
        const known = Object.keys(args).filter((key) => args[key]!.type !== "positional");
        throw new FlagError(`unknown flag --${name}${didYouMean(name, known)}`);
      }
      if (def.type !== "boolean" && !token.includes("=")) {
        if (resolved.rest[index + 1] === undefined) throw new FlagError(`flag --${name} needs a value`);
        index++;
      }
      continue;
    }
    positionalCount++;
  }
  if (!variadic && positionalCount > positionals.length) {
    throw new FlagError(`too many arguments: ${resolved.path.slice(1).join(" ")} takes ${positionals.length === 0 ? "none" : `at most ${positionals.length}`}`);
  }
}

function style(code: number, text: string): string {
  return process.stdout.isTTY && !process.env.NO_COLOR ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function columns(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd()).join("\n");
}

function describeArg(def: ArgsDef[string]): string {
  const notes: string[] = [];
  if (def.default !== undefined && def.default !== false && def.type !== "positional") notes.push(`default: ${String(def.default)}`);
  if (def.type === "positional" && def.default !== undefined) notes.push(`default: ${String(def.default)}`);
  if ("options" in def && def.options) notes.push(`one of: ${def.options.join(", ")}`);
  return [def.description ?? "", notes.length ? `(${notes.join("; ")})` : ""].filter(Boolean).join(" ");
}

async function usageText(resolved: { command: AnyCommand; path: string[] }): Promise<string> {
  const command = resolved.command;
  const meta = command.meta ? await resolve(command.meta) : {};
  const args = command.args ? await resolve(command.args) : {};
  const subCommands = command.subCommands ? await resolve(command.subCommands) : undefined;
  const name = resolved.path.join(" ");
  const positionals = Object.entries(args).filter(([, def]) => def.type === "positional");
  const flags = Object.entries(args).filter(([, def]) => def.type !== "positional");
  const synopsisParts = [
    name,
    subCommands ? (typeof command.run === "function" ? "<command>|" : "<command>") : "",
    ...positionals.map(([key, def]) => (def.required === false || def.default !== undefined ? `[${key.toUpperCase()}]` : key.toUpperCase())),
    (command as Verb).variadic ? "[ARGS...]" : "",
    flags.length ? "[flags]" : "",
  ].filter(Boolean);
  const synopsis = [synopsisParts.join(" ").replace("| ", "|")];
  const sections: string[] = [];
  if (meta.description) sections.push(meta.description);
  sections.push(`${style(1, "Usage:")}\n  ${synopsis.join(" ")}`);
  if (subCommands) {
    const rows: Array<[string, string]> = [];
    for (const [subName, sub] of Object.entries(subCommands)) {
      const known = (sub as { description?: string }).description;
      if (known !== undefined) {
        rows.push([subName, known]);
        continue;
      }
      const subMeta = await resolve(((await resolve(sub)) as AnyCommand).meta ?? {});
      if (!subMeta.hidden) rows.push([subName, subMeta.description ?? ""]);
    }
    sections.push(`${style(1, "Commands:")}\n${columns(rows)}`);
  }
  if (positionals.length) {
    sections.push(`${style(1, "Arguments:")}\n${columns(positionals.map(([key, def]) => [key.toUpperCase(), describeArg(def)]))}`);
  }
  const flagRows: Array<[string, string]> = flags.map(([key, def]) => {
    const alias = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    const hint = def.type === "boolean" ? "" : ` ${("valueHint" in def && def.valueHint) || key.toUpperCase().replace(/-/g, "_")}`;
    return [[...alias.map((a) => `-${a}`), `--${key}`].join(", ") + hint, describeArg(def)];
  });
  flagRows.push(["-h, --help", "show this help"]);
  if (resolved.path.length === 1) flagRows.push(["-v, --version", "print the version"]);
  sections.push(`${style(1, "Flags:")}\n${columns(flagRows)}`);
  const examples: Examples | undefined = (command as Verb).examples;
  if (examples && examples.length > 0) {
    sections.push(`${style(1, "Examples:")}\n${examples.map(([example, explanation]) => `  # ${explanation}\n  ${example}`).join("\n\n")}`);
  }
  if (subCommands) sections.push(`Run "${name} <command> --help" for more about a command.`);
  return sections.join("\n\n");
}

function printError(error: LlmctlError): void {
  // Config diagnostics already say "file:line:col: error:" on every line.
  const isDiagnosticList = "diagnostics" in error;
  process.stderr.write(isDiagnosticList ? `${error.message}\n` : `error: ${error.message}\n`);
  if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
}

function helpRequested(argv: string[]): boolean {
  for (const token of argv) {
    if (token === "--") return false;
    if (token === "--help" || token === "-h") return true;
  }
  return false;
}

/**
 * Parses a command line exactly as the binary would, without running it: an unknown command or
 * flag, a missing flag value or a surplus argument throws the error the binary would print.
 * Returns the command's path, e.g. ["llmctl", "worker"].
 */
export async function parseCommandLine(root: AnyCommand, argv: string[], rootName: string): Promise<string[]> {
  const resolved = await resolveCommand(root, argv, rootName);
  if (typeof resolved.command.run !== "function") {
    throw new UsageError(resolved.path.length === 1 ? "no command given" : `"${resolved.path.slice(1).join(" ")}" needs a subcommand`);
  }
  await checkArguments(resolved);
  return resolved.path;
}

/** Runs the CLI and returns the exit code. */
export async function runCli(root: AnyCommand, argv: string[], rootName: string): Promise<number> {
  let resolved: Resolved | undefined;
  try {
    resolved = await resolveCommand(root, argv, rootName);
    if (helpRequested(argv)) {
      process.stdout.write(`${await usageText(resolved)}\n`);
      return 0;
    }
    const hasRun = typeof resolved.command.run === "function";
    if (!hasRun) {
      process.stderr.write(`${await usageText(resolved)}\n\n`);
      throw new UsageError(resolved.path.length === 1 ? "no command given" : `"${resolved.path.slice(1).join(" ")}" needs a subcommand`);
    }
    await checkArguments(resolved);
    // Already resolved: run the command itself, so citty does not resolve subcommands again.
    await runCommand({ ...resolved.command, subCommands: undefined }, { rawArgs: resolved.rest });
    // A command that finished but reports failure (task --wait with a failed target) sets exitCode.
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof UnknownCommand) {
      process.stderr.write(`${await usageText(error)}\n\n`);
      printError(error);
      return EXIT_USAGE;
    }
    if (error instanceof LlmctlError) {
      printError(error);
      if (error instanceof FlagError && resolved) {
        process.stderr.write(`Run "${resolved.path.join(" ")} --help" for usage.\n`);
      }
      return error.exitCode;
    }
    if (error instanceof Error && error.name === "CLIError") {
      printError(new FlagError(error.message.replace(/\u001b\[[0-9;]*m/g, "")));
      if (resolved) process.stderr.write(`Run "${resolved.path.join(" ")} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILURE;
  }
}
