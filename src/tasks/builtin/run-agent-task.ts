import { z } from "zod";
import { runAgent } from "../agent.ts";
import { defineTask } from "../define.ts";
import { permanent } from "../failure.ts";
import { RuntimeError } from "../../util/errors.ts";

/** A named agent from the config's `agents:` on an input; its tool calls run as child jobs. */
export default defineTask({
  name: "services.tasks.run_agent_task",
  description: "Run an agent from the config (agents:) on an input; tool calls run the tasks it allows as child jobs",
  timeout: "30m",
  attempts: 1,
  args: z.strictObject({
    agent: z.string().min(1).describe("the agent's name under agents: in the config"),
    input: z.string().min(1).describe("the task for the agent"),
    stream: z.boolean().default(true).describe("stream tokens into the job log as they arrive"),
  }),
  positional: ["agent", "input"],
  async handler(context) {
    const { args, config } = context;
    const agent = config.agents[args.agent];
    if (!agent) {
      const known = Object.keys(config.agents);
      throw permanent(new RuntimeError(`no agent named ${args.agent} in the config (${known.length > 0 ? `configured: ${known.join(", ")}` : "agents: is empty"})`));
    }
    const result = await runAgent(context, {
      model: agent.model ?? config.llm.model,
      system: agent.system_prompt,
      prompt: args.input,
      tools: agent.tools,
      maxSteps: agent.max_steps,
      temperature: agent.temperature,
      stream: args.stream,
    });
    return { agent: args.agent, ...result };
  },
});
