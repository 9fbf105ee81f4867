// Loaded by `llmctl worker` from tasks_dir; "llmctl" is provided by the binary itself.
import { defineTask, z } from "llmctl";

export default defineTask({
  name: "report.word_count",
  timeout: "30s",
  attempts: 3,
  args: z.strictObject({ text: z.string().min(1) }),
  async handler({ args, progress, logger }) {
    const words = args.text.split(/\s+/).filter(Boolean);
    await progress(100);
    logger.info({ words: words.length }, "counted");
    return { words: words.length };
  },
});
