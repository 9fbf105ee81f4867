/**
 * Compiles a Redis Lua script to a JavaScript function, once per script, so BullMQ's scripts
 * run as JIT-compiled JS instead of in fengari's interpreter. The compiler takes what BullMQ's
 * scripts and ordinary user scripts use and refuses the rest (`CompileRefused`) — goto,
 * metatables, coroutines, setting globals, unknown globals or library members, gsub/gmatch —
 * and lua-runtime.ts then runs the script on fengari as before, so a refused script behaves
 * exactly as it did. Values and libraries are in lua-compiled.ts.
 *
 * Globals are resolved here, not at run time: Redis' globals are read-only, so a name is
 * either one of the supported builtins or refused.
 */
import luaparse from "luaparse";
import {
  LuaError, LuaTable, Multi, NONE, ScriptKilled, all, first, lessOrEqual, lessThan, next, numberToString,
  stringToNumber, tableOf, toLuaString, truthy, typeName, unpackTable,
} from "./lua-compiled.ts";

export class CompileRefused extends Error {}

type Node = any;

const BUILTIN_FUNCTIONS = ["tonumber", "tostring", "type", "pairs", "ipairs", "next", "unpack", "select", "pcall", "error", "assert", "rawget", "rawset", "rawequal"];
const LIBRARIES = ["string", "table", "math", "cjson", "cmsgpack", "bit", "redis"];

/** Checks how many loop iterations pass between two looks at the clock. */
export const TICKS_PER_CLOCK_CHECK = 10_000;

/** What compiled code calls; `line` arguments only matter for error messages. */
export interface CompiledOperations {
  ticks: number;
  deadlineCheck(): void;
  libraries: Record<string, Record<string, unknown>>;
  stringTable: LuaTable;
}

function runtimeError(line: number, message: string): LuaError {
  return new LuaError(`user_script:${line}: ${message}`);
}

function toArithmetic(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string") return stringToNumber(value);
  return undefined;
}

function arithmeticError(a: unknown, b: unknown, line: number): LuaError {
  const bad = toArithmetic(a) === undefined ? a : b;
  return runtimeError(line, `attempt to perform arithmetic on a ${typeName(bad)} value`);
}

function arithmetic(op: (x: number, y: number) => number) {
  return (a: unknown, b: unknown, line: number): number => {
    if (typeof a === "number" && typeof b === "number") return op(a, b);
    const x = toArithmetic(a);
    const y = toArithmetic(b);
    if (x === undefined || y === undefined) throw arithmeticError(a, b, line);
    return op(x, y);
  };
}

/** The helpers compiled code closes over (the `$` object of the generated source). */
export function baseHelpers(operations: CompiledOperations) {
  const { libraries, stringTable } = operations;
  return {
    LuaTable, Multi, NONE, first, all, truthy, tableOf,
    add: arithmetic((x, y) => x + y),
    sub: arithmetic((x, y) => x - y),
    mul: arithmetic((x, y) => x * y),
    div: arithmetic((x, y) => x / y),
    mod: arithmetic((x, y) => x - Math.floor(x / y) * y),
    pow: arithmetic((x, y) => Math.pow(x, y)),
    neg(a: unknown, line: number): number {
      if (typeof a === "number") return -a;
      const x = toArithmetic(a);
      if (x === undefined) throw runtimeError(line, `attempt to perform arithmetic on a ${typeName(a)} value`);
      return -x;
    },
    concat(a: unknown, b: unknown, line: number): string {
      if (typeof a === "string" && typeof b === "string") return a + b;
      if ((typeof a !== "string" && typeof a !== "number") || (typeof b !== "string" && typeof b !== "number")) {
        const bad = typeof a === "string" || typeof a === "number" ? b : a;
        throw runtimeError(line, `attempt to concatenate a ${typeName(bad)} value`);
      }
      return toLuaString(a) + toLuaString(b);
    },
    len(a: unknown, line: number): number {
      if (typeof a === "string") return a.length;
      if (a instanceof LuaTable) return a.length();
      throw runtimeError(line, `attempt to get length of a ${typeName(a)} value`);
    },
    lt(a: unknown, b: unknown, line: number): boolean {
      if (typeof a === "number" && typeof b === "number") return a < b;
      try {
        return lessThan(a, b);
      } catch (error) {
        throw withLine(line, error);
      }
    },
    le(a: unknown, b: unknown, line: number): boolean {
      if (typeof a === "number" && typeof b === "number") return a <= b;
      try {
        return lessOrEqual(a, b);
      } catch (error) {
        throw withLine(line, error);
      }
    },
    index(t: unknown, key: unknown, line: number): unknown {
      if (t instanceof LuaTable) return t.get(key);
      if (typeof t === "string") return stringTable.get(key);
      throw runtimeError(line, `attempt to index a ${typeName(t)} value`);
    },
    setIndex(t: unknown, key: unknown, value: unknown, line: number): void {
      if (!(t instanceof LuaTable)) throw runtimeError(line, `attempt to index a ${typeName(t)} value`);
      try {
        t.set(key, value);
      } catch (error) {
        throw withLine(line, error);
      }
    },
    callable(f: unknown, line: number): (...args: unknown[]) => unknown {
      if (typeof f === "function") return f as (...args: unknown[]) => unknown;
      throw runtimeError(line, `attempt to call a ${typeName(f)} value`);
    },
    forNumber(value: unknown, what: string, line: number): number {
      const n = toArithmetic(value);
      if (n === undefined) throw runtimeError(line, `'for' ${what} must be a number`);
      return n;
    },
    pairsTable(t: unknown, line: number): LuaTable {
      if (t instanceof LuaTable) return t;
      throw runtimeError(line, `bad argument #1 to 'pairs' (table expected, got ${typeName(t)})`);
    },
    ipairsTable(t: unknown, line: number): LuaTable {
      if (t instanceof LuaTable) return t;
      throw runtimeError(line, `bad argument #1 to 'ipairs' (table expected, got ${typeName(t)})`);
    },
    tick(): void {
      operations.ticks = TICKS_PER_CLOCK_CHECK;
      operations.deadlineCheck();
    },
    operations,
    errorAt(line: number, message: unknown, level?: unknown): never {
      const withPosition = typeof message === "string" || typeof message === "number";
      if (withPosition && (level === undefined || (typeof level === "number" && level > 0))) {
        throw new LuaError(`user_script:${line}: ${toLuaString(message)}`);
      }
      throw new LuaError(message);
    },
    builtins: {
      ...libraries,
      tonumber(value: unknown, base?: unknown): unknown {
        if (base === undefined) return typeof value === "number" ? value : typeof value === "string" ? stringToNumber(value) : undefined;
        const radix = Number(base);
        const text = toLuaString(value).trim().toLowerCase();
        if (!/^-?[0-9a-z]+$/.test(text)) return undefined;
        const digits = text.replace(/^-/, "");
        if ([...digits].some((c) => parseInt(c, 36) >= radix)) return undefined;
        const parsed = parseInt(digits, radix);
        return text.startsWith("-") ? -parsed : parsed;
      },
      tostring: (value: unknown) => toLuaString(value),
      type: (...values: unknown[]) => {
        if (values.length === 0) throw new LuaError("bad argument #1 to 'type' (value expected)");
        return typeName(values[0]);
      },
      next,
      pairs: (t: unknown) => new Multi([next, t, undefined]),
      ipairs: (t: unknown) => new Multi([ipairsStep, t, 0]),
      unpack: unpackTable,
      select(n: unknown, ...values: unknown[]): unknown {
        if (n === "#") return values.length;
        const index = Number(n);
        if (!Number.isFinite(index) || index === 0) throw new LuaError("bad argument #1 to 'select' (index out of range)");
        return new Multi(index < 0 ? values.slice(Math.max(0, values.length + index)) : values.slice(index - 1));
      },
      pcall(f: unknown, ...args: unknown[]): Multi {
        try {
          if (typeof f !== "function") throw new LuaError(`attempt to call a ${typeName(f)} value`);
          return new Multi([true, ...all(f(...args))]);
        } catch (error) {
          if (error instanceof LuaError) return new Multi([false, error.value]);
          if (error instanceof ScriptKilled) throw error;
          if (error instanceof RangeError) return new Multi([false, "stack overflow"]);
          throw error;
        }
      },
      error(message: unknown): never {
        throw new LuaError(message);
      },
      assert(value: unknown, message?: unknown, ...rest: unknown[]): unknown {
        if (truthy(value)) return new Multi([value, message, ...rest]);
        throw new LuaError(message === undefined ? "assertion failed!" : message);
      },
      rawget: (t: unknown, key: unknown) => (t as LuaTable).get(key),
      rawset: (t: unknown, key: unknown, value: unknown) => {
        (t as LuaTable).set(key, value);
        return t;
      },
      rawequal: (a: unknown, b: unknown) => a === b,
    },
  };
}

function ipairsStep(t: unknown, i: unknown): unknown {
  const index = (i as number) + 1;
  const value = (t as LuaTable).get(index);
  return value === undefined ? undefined : new Multi([index, value]);
}

/** Adds the script position to an error raised by library code (comparisons, readonly tables). */
function withLine(line: number, error: unknown): unknown {
  if (error instanceof LuaError && typeof error.value === "string" && !error.value.startsWith("user_script:")) {
    return runtimeError(line, error.value);
  }
  return error;
}

interface FunctionState {
  temps: number;
  vararg: boolean;
}

class Compiler {
  private scopes: Array<Map<string, string>> = [];
  private uniques = 0;
  private fn: FunctionState = { temps: 0, vararg: true };

  constructor(private readonly source: string, private readonly members: Record<string, Record<string, unknown>>) {}

  compileChunk(chunk: Node): string {
    this.scopes.push(new Map());
    const body = this.block(chunk.body);
    this.scopes.pop();
    return `return function (KEYS, ARGV) {\n${this.tempDeclarations()}const $va = [];\n${body}return $.NONE;\n};`;
  }

  private refuse(node: Node, why: string): never {
    throw new CompileRefused(`line ${node?.loc?.start?.line ?? "?"}: ${why}`);
  }

  private temp(): string {
    return `$t${++this.fn.temps}`;
  }

  private tempDeclarations(): string {
    if (this.fn.temps === 0) return "";
    return `let ${Array.from({ length: this.fn.temps }, (_, i) => `$t${i + 1}`).join(", ")};\n`;
  }

  private declare(name: string): string {
    const js = `${name.replace(/[^A-Za-z0-9_]/g, "_")}$${++this.uniques}`;
    this.scopes[this.scopes.length - 1]!.set(name, js);
    return js;
  }

  private lookup(name: string): string | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const js = this.scopes[i]!.get(name);
      if (js) return js;
    }
    return undefined;
  }

  private line(node: Node): number {
    return node.loc?.start?.line ?? 0;
  }

  private block(statements: Node[]): string {
    this.scopes.push(new Map());
    const code = statements.map((statement) => this.statement(statement)).join("");
    this.scopes.pop();
    return code;
  }

  private statement(node: Node): string {
    switch (node.type) {
      case "LocalStatement": {
        const values = this.expressionList(node.init, node.variables.length, node);
        const names = node.variables.map((variable: Node) => this.declare(variable.name));
        if (names.length === 1 && values.kind === "single") return `let ${names[0]} = ${values.items[0]};\n`;
        const holder = this.temp();
        return `${holder} = ${values.array};\nlet ${names.map((name: string, i: number) => `${name} = ${holder}[${i}]`).join(", ")};\n`;
      }
      case "AssignmentStatement": {
        const values = this.expressionList(node.init, node.variables.length, node);
        if (node.variables.length === 1 && values.kind === "single") return this.assign(node.variables[0], values.items[0]!);
        const holder = this.temp();
        return `${holder} = ${values.array};\n${node.variables.map((target: Node, i: number) => this.assign(target, `${holder}[${i}]`)).join("")}`;
      }
      case "CallStatement":
        return `${this.call(node.expression)};\n`;
      case "FunctionDeclaration": {
        if (node.isLocal) {
          const name = this.declare(node.identifier.name);
          return `let ${name};\n${name} = ${this.functionExpression(node)};\n`;
        }
        if (node.identifier.type === "Identifier") this.refuse(node, "a global function (globals are read-only)");
        if (node.identifier.indexer === ":") this.refuse(node, "method definitions");
        return this.assign(node.identifier, this.functionExpression(node));
      }
      case "ReturnStatement":
        return `return ${this.returnValue(node)};\n`;
      case "IfStatement":
        return node.clauses.map((clause: Node, i: number) => {
          const body = `{\n${this.block(clause.body)}}\n`;
          if (clause.type === "ElseClause") return `else ${body}`;
          return `${i === 0 ? "if" : "else if"} (${this.condition(clause.condition)}) ${body}`;
        }).join("");
      case "WhileStatement":
        return `while (${this.condition(node.condition)}) {\n${this.tick()}${this.block(node.body)}}\n`;
      case "RepeatStatement": {
        // `until` sees the body's locals, so it is compiled inside the body's scope.
        this.scopes.push(new Map());
        const body = node.body.map((statement: Node) => this.statement(statement)).join("");
        const until = this.condition(node.condition);
        this.scopes.pop();
        return `while (true) {\n${this.tick()}${body}if (${until}) break;\n}\n`;
      }
      case "DoStatement":
        return `{\n${this.block(node.body)}}\n`;
      case "BreakStatement":
        return "break;\n";
      case "ForNumericStatement":
        return this.numericFor(node);
      case "ForGenericStatement":
        return this.genericFor(node);
      default:
        return this.refuse(node, `${node.type} is not compiled`);
    }
  }

  private tick(): string {
    return "if (--$ops.ticks < 0) $.tick();\n";
  }

  private numericFor(node: Node): string {
    const line = this.line(node);
    const [start, limit, step] = [this.temp(), this.temp(), this.temp()];
    const counter = `$i${++this.uniques}`;
    let code = `${start} = $.forNumber(${this.expression(node.start)}, "initial value", ${line});\n`;
    code += `${limit} = $.forNumber(${this.expression(node.end)}, "limit", ${line});\n`;
    code += `${step} = ${node.step ? `$.forNumber(${this.expression(node.step)}, "step", ${line})` : "1"};\n`;
    this.scopes.push(new Map());
    const variable = this.declare(node.variable.name);
    const body = this.block(node.body);
    this.scopes.pop();
    return `${code}for (let ${counter} = ${start}; ${step} > 0 ? ${counter} <= ${limit} : ${counter} >= ${limit}; ${counter} += ${step}) {\n${this.tick()}let ${variable} = ${counter};\n${body}}\n`;
  }

  private isBuiltinCall(node: Node, name: string): boolean {
    return node.type === "CallExpression" && node.base.type === "Identifier" && node.base.name === name &&
      this.lookup(name) === undefined && node.arguments.length === 1;
  }

  private genericFor(node: Node): string {
    const line = this.line(node);
    const iterator = node.iterators.length === 1 ? node.iterators[0] : undefined;
    this.scopes.push(new Map());
    let code: string;
    if (iterator && this.isBuiltinCall(iterator, "ipairs")) {
      const table = this.temp();
      const index = `$i${++this.uniques}`;
      const setup = `${table} = $.ipairsTable(${this.expression(iterator.arguments[0])}, ${line});\n`;
      const [keyName, valueName] = node.variables.map((variable: Node) => this.declare(variable.name));
      const value = `$v${++this.uniques}`;
      const body = this.block(node.body);
      code = `${setup}for (let ${index} = 1; ; ${index}++) {\n${this.tick()}const ${value} = ${table}.get(${index});\nif (${value} === undefined) break;\nlet ${keyName} = ${index};\n${valueName ? `let ${valueName} = ${value};\n` : ""}${body}}\n`;
    } else if (iterator && this.isBuiltinCall(iterator, "pairs")) {
      const table = this.temp();
      const keys = this.temp();
      const position = `$i${++this.uniques}`;
      const setup = `${table} = $.pairsTable(${this.expression(iterator.arguments[0])}, ${line});\n${keys} = ${table}.keys();\n`;
      const [keyName, valueName] = node.variables.map((variable: Node) => this.declare(variable.name));
      const value = `$v${++this.uniques}`;
      const body = this.block(node.body);
      // Keys cleared by the loop body before their turn are skipped, as Lua's next() does.
      code = `${setup}for (let ${position} = 0; ${position} < ${keys}.length; ${position}++) {\n${this.tick()}const ${value} = ${table}.get(${keys}[${position}]);\nif (${value} === undefined) continue;\nlet ${keyName} = ${keys}[${position}];\n${valueName ? `let ${valueName} = ${value};\n` : ""}${body}}\n`;
    } else {
      const state = this.temp();
      const values = this.expressionList(node.iterators, 3, node);
      const names = node.variables.map((variable: Node) => this.declare(variable.name));
      const results = `$r${++this.uniques}`;
      const body = this.block(node.body);
      code = `${state} = ${values.array};\nwhile (true) {\n${this.tick()}const ${results} = $.all($.callable(${state}[0], ${line})(${state}[1], ${state}[2]));\nif (${results}[0] === undefined) break;\n${state}[2] = ${results}[0];\n${names.map((name: string, i: number) => `let ${name} = ${results}[${i}];\n`).join("")}${body}}\n`;
    }
    this.scopes.pop();
    return `{\n${code}}\n`;
  }

  private assign(target: Node, value: string): string {
    if (target.type === "Identifier") {
      const local = this.lookup(target.name);
      if (!local) this.refuse(target, `assignment to global '${target.name}' (globals are read-only)`);
      return `${local} = ${value};\n`;
    }
    if (target.type === "MemberExpression") {
      this.checkLibraryBase(target.base, target);
      return `$.setIndex(${this.expression(target.base)}, ${JSON.stringify(target.identifier.name)}, ${value}, ${this.line(target)});\n`;
    }
    if (target.type === "IndexExpression") {
      this.checkLibraryBase(target.base, target);
      return `$.setIndex(${this.expression(target.base)}, ${this.expression(target.index)}, ${value}, ${this.line(target)});\n`;
    }
    return this.refuse(target, `assignment to ${target.type}`);
  }

  private checkLibraryBase(base: Node, node: Node): void {
    if (base.type === "Identifier" && !this.lookup(base.name) && LIBRARIES.includes(base.name)) {
      this.refuse(node, `changing the library table '${base.name}'`);
    }
  }

  /** Whether `node`, the last of a list ending at `end`, was written in parentheses (one value only). */
  private parenthesized(node: Node, end: number): boolean {
    let at = node.range[1];
    const text = this.source;
    while (at < end) {
      if (/\s/.test(text[at]!)) at++;
      else if (text.startsWith("--", at)) {
        const long = /^--\[(=*)\[/.exec(text.slice(at, at + 64));
        const close = long ? text.indexOf(`]${long[1]}]`, at) : text.indexOf("\n", at);
        at = close < 0 ? end : close + (long ? long[1]!.length + 2 : 1);
      } else return text[at] === ")";
    }
    return false;
  }

  private isMultiValued(node: Node, listEnd: number): boolean {
    const multi = node.type === "CallExpression" || node.type === "StringCallExpression" || node.type === "TableCallExpression" || node.type === "VarargLiteral";
    return multi && !this.parenthesized(node, listEnd);
  }

  /** The values of an expression list; `array` is a JS array expression with every value. */
  private expressionList(nodes: Node[], _wanted: number, owner: Node, listEnd = owner.range[1]): { kind: "single" | "array"; items: string[]; array: string } {
    if (nodes.length === 0) return { kind: "array", items: [], array: "[]" };
    const last = nodes[nodes.length - 1];
    const items = nodes.slice(0, -1).map((node) => this.expression(node));
    if (this.isMultiValued(last, listEnd)) {
      const spread = last.type === "VarargLiteral" ? this.vararg(last) : `$.all(${this.call(last)})`;
      return { kind: "array", items, array: `[${[...items, `...${spread}`].join(", ")}]` };
    }
    items.push(this.expression(last));
    return { kind: nodes.length === 1 ? "single" : "array", items, array: `[${items.join(", ")}]` };
  }

  private vararg(node: Node): string {
    if (!this.fn.vararg) this.refuse(node, "'...' outside a vararg function");
    return "$va";
  }

  private returnValue(node: Node): string {
    const values = node.arguments;
    if (values.length === 0) return "$.NONE";
    if (values.length === 1) {
      const only = values[0];
      if (this.isMultiValued(only, node.range[1])) return only.type === "VarargLiteral" ? `new $.Multi(${this.vararg(only)})` : this.call(only);
      return this.expression(only);
    }
    return `new $.Multi(${this.expressionList(values, values.length, node).array})`;
  }

  private functionExpression(node: Node): string {
    const saved = this.fn;
    this.fn = { temps: 0, vararg: node.parameters.some((p: Node) => p.type === "VarargLiteral") };
    this.scopes.push(new Map());
    const parameters = node.parameters.map((parameter: Node) => (parameter.type === "VarargLiteral" ? "...$va" : this.declare(parameter.name)));
    const body = this.block(node.body);
    this.scopes.pop();
    const code = `(function (${parameters.join(", ")}) {\n${this.tempDeclarations()}${body}return $.NONE;\n})`;
    this.fn = saved;
    return code;
  }

  /** A call, its value as the callee returns it (a Multi or a single value). */
  private call(node: Node): string {
    const line = this.line(node);
    let args: Node[];
    if (node.type === "CallExpression") args = node.arguments;
    else if (node.type === "StringCallExpression" || node.type === "TableCallExpression") args = [node.argument];
    else return this.refuse(node, `${node.type} is not a call`);
    const argumentList = args.length === 0 ? "" : this.expressionList(args, args.length, node, node.range[1] - 1).array;
    const argumentCode = args.length === 0 ? "" : argumentList.slice(1, -1);
    const base = node.base;
    if (base.type === "MemberExpression" && base.indexer === ":") {
      this.checkMethodName(base);
      const object = this.temp();
      return `$.callable($.index(${object} = ${this.expression(base.base)}, ${JSON.stringify(base.identifier.name)}, ${line}), ${line})(${[object, argumentCode].filter(Boolean).join(", ")})`;
    }
    if (base.type === "Identifier" && !this.lookup(base.name) && base.name === "error") {
      return `$.errorAt(${line}${argumentCode ? `, ${argumentCode}` : ""})`;
    }
    const known = this.knownFunction(base);
    if (known) return `${known}(${argumentCode})`;
    return `$.callable(${this.expression(base)}, ${line})(${argumentCode})`;
  }

  private checkMethodName(member: Node): void {
    // A method call may be on a string; string methods not compiled would be nil here but not in Redis.
    const name = member.identifier.name;
    if (!Object.hasOwn(this.members.string!, name)) this.refuse(member, `method ':${name}' (not a compiled string function)`);
  }

  /** A builtin function or library member, as a direct reference (globals cannot change). */
  private knownFunction(node: Node): string | undefined {
    if (node.type === "Identifier" && !this.lookup(node.name) && BUILTIN_FUNCTIONS.includes(node.name)) return `$.builtins.${node.name}`;
    if (node.type === "MemberExpression" && node.indexer === "." && node.base.type === "Identifier" && !this.lookup(node.base.name) && LIBRARIES.includes(node.base.name)) {
      const member = node.identifier.name;
      if (!Object.hasOwn(this.members[node.base.name]!, member)) this.refuse(node, `${node.base.name}.${member} is not compiled`);
      return `$.builtins.${node.base.name}.${member}`;
    }
    return undefined;
  }

  /** A JS boolean expression for a Lua condition. */
  private condition(node: Node): string {
    if (node.type === "BinaryExpression" && ["==", "~=", "<", "<=", ">", ">="].includes(node.operator)) return this.expression(node);
    if (node.type === "UnaryExpression" && node.operator === "not") return `!(${this.condition(node.argument)})`;
    if (node.type === "LogicalExpression") {
      const op = node.operator === "and" ? "&&" : "||";
      return `(${this.condition(node.left)} ${op} ${this.condition(node.right)})`;
    }
    if (node.type === "BooleanLiteral") return String(node.value);
    const value = this.temp();
    return `((${value} = ${this.expression(node)}) !== undefined && ${value} !== false)`;
  }

  /** A single-valued JS expression. */
  private expression(node: Node): string {
    const line = this.line(node);
    switch (node.type) {
      case "NilLiteral":
        return "undefined";
      case "BooleanLiteral":
        return String(node.value);
      case "NumericLiteral":
        return Object.is(node.value, -0) ? "-0" : `(${String(node.value)})`;
      case "StringLiteral":
        if (typeof node.value !== "string") this.refuse(node, "a string literal luaparse did not decode");
        return JSON.stringify(node.value);
      case "VarargLiteral":
        return `${this.vararg(node)}[0]`;
      case "Identifier": {
        const local = this.lookup(node.name);
        if (local) return local;
        if (node.name === "KEYS" || node.name === "ARGV") return node.name;
        if (BUILTIN_FUNCTIONS.includes(node.name)) return `$.builtins.${node.name}`;
        return this.refuse(node, `global '${node.name}' (not compiled; Redis raises for unknown globals)`);
      }
      case "FunctionDeclaration":
        return this.functionExpression(node);
      case "CallExpression":
      case "StringCallExpression":
      case "TableCallExpression":
        return `$.first(${this.call(node)})`;
      case "MemberExpression": {
        if (node.indexer !== ".") return this.refuse(node, "':' outside a call");
        const known = this.knownFunction(node);
        if (known) return known;
        return `$.index(${this.expression(node.base)}, ${JSON.stringify(node.identifier.name)}, ${line})`;
      }
      case "IndexExpression":
        if (node.base.type === "Identifier" && !this.lookup(node.base.name) && LIBRARIES.includes(node.base.name)) {
          this.refuse(node, `indexing the library '${node.base.name}' by value`);
        }
        return `$.index(${this.expression(node.base)}, ${this.expression(node.index)}, ${line})`;
      case "TableConstructorExpression":
        return this.table(node);
      case "UnaryExpression": {
        if (node.operator === "not") return `!(${this.condition(node.argument)})`;
        if (node.operator === "-") {
          if (node.argument.type === "NumericLiteral") return node.argument.value === 0 ? "-0" : `(${-node.argument.value})`;
          return `$.neg(${this.expression(node.argument)}, ${line})`;
        }
        if (node.operator === "#") return `$.len(${this.expression(node.argument)}, ${line})`;
        return this.refuse(node, `unary ${node.operator}`);
      }
      case "BinaryExpression":
        return this.binary(node, line);
      case "LogicalExpression": {
        const value = this.temp();
        const test = `((${value} = ${this.expression(node.left)}) !== undefined && ${value} !== false)`;
        return node.operator === "and" ? `(${test} ? ${this.expression(node.right)} : ${value})` : `(${test} ? ${value} : ${this.expression(node.right)})`;
      }
      default:
        return this.refuse(node, `${node.type} is not compiled`);
    }
  }

  private binary(node: Node, line: number): string {
    const left = this.expression(node.left);
    const right = this.expression(node.right);
    switch (node.operator) {
      case "==": return `(${left} === ${right})`;
      case "~=": return `(${left} !== ${right})`;
      case "<": return `$.lt(${left}, ${right}, ${line})`;
      case "<=": return `$.le(${left}, ${right}, ${line})`;
      case ">": {
        const [a, b] = [this.temp(), this.temp()];
        return `(${a} = ${left}, ${b} = ${right}, $.lt(${b}, ${a}, ${line}))`;
      }
      case ">=": {
        const [a, b] = [this.temp(), this.temp()];
        return `(${a} = ${left}, ${b} = ${right}, $.le(${b}, ${a}, ${line}))`;
      }
      case "+": return `$.add(${left}, ${right}, ${line})`;
      case "-": return `$.sub(${left}, ${right}, ${line})`;
      case "*": return `$.mul(${left}, ${right}, ${line})`;
      case "/": return `$.div(${left}, ${right}, ${line})`;
      case "%": return `$.mod(${left}, ${right}, ${line})`;
      case "^": return `$.pow(${left}, ${right}, ${line})`;
      case "..": return `$.concat(${left}, ${right}, ${line})`;
      default: return this.refuse(node, `operator ${node.operator}`);
    }
  }

  private table(node: Node): string {
    const positional = node.fields.filter((field: Node) => field.type === "TableValue").map((field: Node) => field.value);
    const keyed = node.fields.filter((field: Node) => field.type !== "TableValue");
    const lastField = node.fields[node.fields.length - 1];
    const lastIsPositional = lastField?.type === "TableValue";
    let values: string;
    if (positional.length === 0) values = "[]";
    else if (lastIsPositional) values = this.expressionList(positional, positional.length, node, node.range[1] - 1).array;
    else values = `[${positional.map((value: Node) => this.expression(value)).join(", ")}]`;
    if (keyed.length === 0) return `$.tableOf(${values})`;
    const table = this.temp();
    const line = this.line(node);
    const sets = keyed.map((field: Node) => {
      const key = field.type === "TableKeyString" ? JSON.stringify(field.key.name) : this.expression(field.key);
      return `$.setIndex(${table}, ${key}, ${this.expression(field.value)}, ${line})`;
    });
    // Lua stores the positional items last, so they win over an explicit [1]= in the same constructor.
    const positionalSets = positional.length === 0 ? "" : `, ${values}.forEach((v, i) => ${table}.set(i + 1, v))`;
    return `(${table} = new $.LuaTable(), ${sets.join(", ")}${positionalSets}, ${table})`;
  }
}

export interface CompiledScript {
  (keys: LuaTable, argv: LuaTable): unknown;
}

/** Compiles `source`; throws CompileRefused for anything the compiled path does not cover. */
export function compileScript(source: string, helpers: ReturnType<typeof baseHelpers>): CompiledScript {
  // luaparse reads bytes as latin1 characters, matching the byte-string representation.
  const bytes = Buffer.from(source, "utf8").toString("latin1");
  let chunk: Node;
  try {
    chunk = luaparse.parse(bytes, { locations: true, ranges: true, luaVersion: "5.1", encodingMode: "pseudo-latin1", comments: false });
  } catch (error) {
    throw new CompileRefused(`luaparse: ${(error as Error).message}`);
  }
  const javascript = new Compiler(bytes, helpers.builtins as never).compileChunk(chunk);
  const factory = new Function("$", "$ops", javascript) as ($: unknown, ops: CompiledOperations) => CompiledScript;
  return factory(helpers, helpers.operations);
}

export { LuaError, LuaTable, Multi, ScriptKilled, first, numberToString };
