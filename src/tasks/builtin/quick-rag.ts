import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { runAgent } from "../agent.ts";
import { defineTask } from "../define.ts";
import { permanent } from "../failure.ts";
import { RagIndex, type Chunk } from "../rag-index.ts";
import { RuntimeError, errorMessage } from "../../util/errors.ts";

const SYSTEM_PROMPT =
  "Answer the question using only the numbered sources. Cite every source you use as [n]. " +
  "If the sources do not contain the answer, say that they do not.";

function promptFor(question: string, chunks: Chunk[]): string {
  const sources = chunks.map((chunk, index) => `[${index + 1}] ${chunk.path} (lines ${chunk.start_line}-${chunk.end_line})\n${chunk.text}`).join("\n\n");
  return `Sources:\n\n${sources}\n\nQuestion: ${question}`;
}

/** The source numbers an answer cites, in order of first mention, limited to those given. */
function citations(answer: string, count: number): number[] {
  const cited = [...answer.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])).filter((n) => n >= 1 && n <= count);
  return [...new Set(cited)];
}

/** Question over a configured document collection: refresh its FTS5 index, retrieve, ask the LLM, cite. */
export default defineTask({
  name: "services.tasks.run_quick_rag_task",
  description: "Answer a question over a document collection (rag.collections): refresh its full-text index, retrieve the top chunks, ask the LLM, cite sources",
  timeout: "10m",
  attempts: 1,
  args: z.strictObject({
    collection: z.string().min(1).describe("the collection's name under rag.collections"),
    question: z.string().min(1).describe("what to answer"),
    top_k: z.number().int().min(1).max(50).optional().describe("chunks given to the model (default rag.top_k)"),
    stream: z.boolean().default(true).describe("stream the answer into the job log"),
  }),
  positional: ["collection", "question"],
  async handler(context) {
    const { args, config, signal, log, progress } = context;
    const collection = config.rag.collections[args.collection];
    if (!collection) {
      const known = Object.keys(config.rag.collections);
      throw permanent(new RuntimeError(`no collection named ${args.collection} in rag.collections (${known.length > 0 ? `configured: ${known.join(", ")}` : "none configured"})`));
    }
    const directory = resolve(collection.dir);
    try {
      if (!statSync(directory).isDirectory()) throw new Error("not a directory");
    } catch (error) {
      throw permanent(new RuntimeError(`collection ${args.collection}: ${directory} is not a readable directory (${errorMessage(error)})`));
    }
    await progress({ percent: 0, phase: "refreshing the index" });
    const index = new RagIndex(join(config.rag.index_dir, `${args.collection}.sqlite`));
    let chunks: Chunk[];
    let refreshed;
    try {
      refreshed = index.refresh(directory, signal);
      await log(`index of ${args.collection}: ${refreshed.added.length} added, ${refreshed.updated.length} updated, ${refreshed.removed.length} removed, ${refreshed.unchanged} unchanged (${refreshed.chunks} chunks)`);
      await progress({ percent: 20, phase: "retrieving" });
      chunks = index.search(args.question, args.top_k ?? config.rag.top_k);
    } finally {
      index.close();
    }
    const base = { collection: args.collection, question: args.question, index: refreshed };
    if (chunks.length === 0) {
      await progress({ percent: 100, phase: "done" });
      return { ...base, answer: `No document in collection ${args.collection} matches the question; the LLM was not asked.`, sources: [], cited: [], model: null, usage: null };
    }
    await log(`retrieved ${chunks.length} chunks: ${chunks.map((chunk) => `${chunk.path}:${chunk.start_line}`).join(", ")}`);
    const reply = await runAgent(context, {
      model: config.llm.model,
      system: SYSTEM_PROMPT,
      prompt: promptFor(args.question, chunks),
      tools: [],
      maxSteps: 1,
      stream: args.stream,
    });
    return {
      ...base,
      answer: reply.message,
      sources: chunks.map((chunk, index) => ({ n: index + 1, path: chunk.path, start_line: chunk.start_line, end_line: chunk.end_line, score: chunk.score })),
      cited: citations(reply.message, chunks.length),
      model: reply.model,
      usage: reply.usage,
    };
  },
});
