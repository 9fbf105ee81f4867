import { z } from "zod";
import { runAgent } from "../agent.ts";
import { defineTask } from "../define.ts";

/** One prompt to the configured chat-completions endpoint; no tools. */
export default defineTask({
  name: "services.tasks.run_agent",
  description: "Ask the configured LLM (llm:) a prompt, streaming the reply into the job log; returns message, model and token usage",
  timeout: "10m",
  attempts: 1,
  args: z.strictObject({
    prompt: z.string().min(1).describe("what to ask"),
    system: z.string().min(1).optional().describe("system prompt"),
    model: z.string().min(1).optional().describe("model name (default: llm.model)"),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).optional().describe("upper bound of the reply's tokens"),
    stream: z.boolean().default(true).describe("stream tokens into the job log as they arrive"),
  }),
  positional: ["prompt"],
  async handler(context) {
    const { args, config } = context;
    return await runAgent(context, {
      model: args.model ?? config.llm.model,
      system: args.system,
      prompt: args.prompt,
      tools: [],
      maxSteps: 1,
      temperature: args.temperature,
      maxTokens: args.max_tokens,
      stream: args.stream,
    });
  },
});
