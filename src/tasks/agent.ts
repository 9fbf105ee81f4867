/**
 * The agent loop behind services.tasks.run_agent and run_agent_task: ask the model, run the
 * tool calls it makes — only tasks the agent allows, each as a child job — feed their results
 * back, until it answers without tools or runs out of steps. Streamed text goes to the job log
 * line by line, and progress counts the tokens.
 */
import { RuntimeError, errorMessage } from "../util/errors.ts";
import type { TaskContext } from "./define.ts";
import { permanent } from "./failure.ts";
import { ChatClient, type ChatMessage, type ChatReply, type ToolDeclaration, type Usage } from "./llm.ts";

const PROGRESS_EVERY_MS = 250;

export interface AgentRun {
  model: string;
  system?: string;
  prompt: string;
  /** Registered task names the model may call. */
  tools: string[];
  maxSteps: number;
  temperature?: number;
  maxTokens?: number;
  stream: boolean;
}

export interface ToolCallRecord {
  tool: string;
  task: string;
  job_id: string | null;
  state: string;
  error?: string;
}

export interface AgentResult {
  message: string;
  model: string;
  finish_reason: string | null;
  usage: Usage;
  steps: number;
  tool_calls: ToolCallRecord[];
}

/** Streamed text into whole log lines, and a throttled token count into progress. */
export class StreamReporter {
  private line = "";
  private tokens = 0;
  private lastProgress = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: Pick<TaskContext, "log" | "progress">,
    private readonly phase: () => Record<string, unknown>,
  ) {}

  onText = (text: string): void => {
    this.tokens++;
    const lines = (this.line + text).split("\n");
    this.line = lines.pop() ?? "";
    for (const line of lines) this.enqueue(() => this.context.log(line));
    const now = Date.now();
    if (now - this.lastProgress >= PROGRESS_EVERY_MS) {
      this.lastProgress = now;
      this.enqueue(() => this.context.progress({ ...this.phase(), tokens_streamed: this.tokens }));
    }
  };

  /** Writes the unfinished line and waits for every log write, in order. */
  async flush(): Promise<void> {
    if (this.line) {
      const rest = this.line;
      this.line = "";
      this.enqueue(() => this.context.log(rest));
    }
    await this.pending;
  }

  get tokensStreamed(): number {
    return this.tokens;
  }

  private enqueue(write: () => Promise<void>): void {
    this.pending = this.pending.then(write).catch(() => {}); // a lost log line must not fail the job
  }
}

/** OpenAI function names allow [A-Za-z0-9_-]{1,64}; task names have dots. */
function toolNameOf(task: string): string {
  return task.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

function addUsage(total: Usage, usage: Usage | null): Usage {
  if (!usage) return total;
  return { prompt_tokens: total.prompt_tokens + usage.prompt_tokens, completion_tokens: total.completion_tokens + usage.completion_tokens, total_tokens: total.total_tokens + usage.total_tokens };
}

function declareTools(context: TaskContext<unknown>, tools: string[]): { declarations: ToolDeclaration[]; tasks: Map<string, string> } {
  const tasks = new Map<string, string>();
  const declarations: ToolDeclaration[] = [];
  for (const task of tools) {
    const info = context.tasks.describe(task);
    if (!info) throw permanent(new RuntimeError(`the agent may call ${task}, which is not a registered task`, "fix the agent's tools in the config (see llmctl task list)"));
    const name = toolNameOf(task);
    if (tasks.has(name)) throw permanent(new RuntimeError(`tools ${tasks.get(name)} and ${task} have the same function name ${name}`));
    tasks.set(name, task);
    declarations.push({ type: "function", function: { name, description: info.description || task, parameters: info.args_schema } });
  }
  return { declarations, tasks };
}

async function runToolCall(context: TaskContext<unknown>, tasks: Map<string, string>, name: string, rawArguments: string): Promise<{ record: Omit<ToolCallRecord, "tool">; content: string }> {
  const task = tasks.get(name);
  if (!task) {
    const error = `tool ${name} is not allowed for this agent (allowed: ${[...tasks.keys()].join(", ") || "none"})`;
    return { record: { task: "", job_id: null, state: "refused", error }, content: JSON.stringify({ error }) };
  }
  let args: unknown;
  try {
    args = rawArguments.trim() === "" ? {} : JSON.parse(rawArguments);
  } catch {
    const error = `the arguments are not JSON: ${rawArguments.slice(0, 200)}`;
    return { record: { task, job_id: null, state: "refused", error }, content: JSON.stringify({ error }) };
  }
  try {
    const outcome = await context.tasks.run(task, (args ?? {}) as Record<string, unknown>);
    const content = outcome.state === "completed" ? JSON.stringify({ result: outcome.result ?? null }) : JSON.stringify({ error: `${outcome.state}: ${outcome.error ?? ""}` });
    return { record: { task, job_id: outcome.id, state: outcome.state, ...(outcome.error ? { error: outcome.error } : {}) }, content };
  } catch (error) {
    if (context.signal.aborted) throw error;
    // Invalid arguments or an unknown target: the model can correct itself.
    return { record: { task, job_id: null, state: "refused", error: errorMessage(error) }, content: JSON.stringify({ error: errorMessage(error) }) };
  }
}

export async function runAgent(context: TaskContext<unknown>, run: AgentRun): Promise<AgentResult> {
  const client = new ChatClient(context.config.llm, context.signal, (line) => context.log(line));
  const { declarations, tasks } = declareTools(context, run.tools);
  const messages: ChatMessage[] = [...(run.system ? [{ role: "system" as const, content: run.system }] : []), { role: "user", content: run.prompt }];
  let usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const toolCalls: ToolCallRecord[] = [];
  let step = 0;
  const reporter = new StreamReporter(context, () => ({ phase: "generating", step, max_steps: run.maxSteps }));
  for (step = 1; step <= run.maxSteps; step++) {
    await context.progress({ phase: "asking the model", step, max_steps: run.maxSteps, tokens_streamed: reporter.tokensStreamed });
    let reply: ChatReply;
    try {
      reply = await client.complete({ model: run.model, messages, tools: declarations, temperature: run.temperature, max_tokens: run.maxTokens, stream: run.stream, onText: reporter.onText });
    } finally {
      await reporter.flush();
    }
    usage = addUsage(usage, reply.usage);
    if (reply.tool_calls.length === 0) {
      await context.progress({ percent: 100, phase: "done", step, max_steps: run.maxSteps, tokens_streamed: reporter.tokensStreamed });
      return { message: reply.content, model: reply.model, finish_reason: reply.finish_reason, usage, steps: step, tool_calls: toolCalls };
    }
    messages.push({ role: "assistant", content: reply.content || null, tool_calls: reply.tool_calls });
    for (const call of reply.tool_calls) {
      await context.progress({ phase: `running tool ${call.function.name}`, step, max_steps: run.maxSteps, tokens_streamed: reporter.tokensStreamed });
      await context.log(`tool call ${call.function.name}(${call.function.arguments})`);
      const { record, content } = await runToolCall(context, tasks, call.function.name, call.function.arguments);
      toolCalls.push({ tool: call.function.name, ...record });
      await context.log(`tool ${call.function.name}: ${record.state}${record.job_id ? ` (job ${record.job_id})` : ""}${record.error ? `: ${record.error}` : ""}`);
      messages.push({ role: "tool", tool_call_id: call.id, content });
    }
  }
  throw new RuntimeError(`the agent did not give a final answer within ${run.maxSteps} model calls (max_steps); ${toolCalls.length} tool calls were made`);
}
