/** One job: state, progress, arguments, logs, result or error with stack; retry and revoke. Follows its events live. */
import { api, ApiFailure, type JobDetail } from "../api.ts";
import { ageLabel, debounce, duration, h, localTime, pretty, progressBar, replaceChildren, stateBadge } from "../dom.ts";
import { live } from "../live.ts";
import { runAction } from "../notice.ts";

const REVOCABLE = new Set(["waiting", "delayed", "prioritized", "waiting-children", "active"]);

function facts(job: JobDetail): HTMLElement {
  const rows: Array<[string, Node | string]> = [
    ["Task", job.task],
    ["Queue", job.queue],
    ["Attempts", `${job.attempts_made} of ${job.attempts}`],
    ["Created", h("span", {}, localTime(job.created_at), " (", ageLabel(job.created_at), ")")],
    ["Started", localTime(job.started_at)],
    ["Finished", localTime(job.finished_at)],
    ["Ran for", duration(job.started_at, job.finished_at)],
    ["Worker", job.worker ?? "–"],
  ];
  if (job.delay_until) rows.push(["Delayed until", localTime(job.delay_until)]);
  if (typeof job.meta.target === "string") rows.push(["Target", job.meta.target]);
  if (typeof job.meta.source === "string") rows.push(["Sent by", job.meta.source]);
  return h("dl", { class: "facts" }, rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export function jobView(root: HTMLElement, id: string): () => void {
  const container = h("section", { class: "panel", id: "job-detail" }, h("p", { class: "muted" }, "Loading…"));
  replaceChildren(root, h("p", {}, h("a", { href: "#/jobs" }, "← all jobs")), container);
  let current: JobDetail | undefined;

  const render = (job: JobDetail) => {
    current = job;
    const retry = h("button", { type: "button", "data-action": "retry", disabled: !(job.state === "failed" || job.state === "completed") }, "Retry");
    const revoke = h("button", { type: "button", class: "danger", "data-action": "revoke", disabled: !REVOCABLE.has(job.state) }, "Revoke");
    retry.addEventListener("click", () => void runAction(retry, "Retry", () => api.retry(job.id), (result) => `job ${result.id} queued again (was ${result.previous_state})`).then(refresh));
    revoke.addEventListener("click", () =>
      void runAction(revoke, "Revoke", () => api.revoke(job.id), (result) =>
        result.outcome === "removed" ? `job ${result.id} removed before it ran` : result.outcome === "aborting" ? `job ${result.id} is being stopped by its worker` : `job ${result.id} had already finished`,
      ).then(refresh),
    );
    replaceChildren(
      container,
      h("header", { class: "job-head" }, h("h2", {}, h("span", { class: "mono" }, job.id)), h("span", { id: "job-state" }, stateBadge(job.state)), h("div", { class: "actions" }, retry, revoke)),
      h("div", { id: "job-progress" }, progressBar(job.progress, job.state)),
      facts(job),
      h("h3", {}, "Arguments"),
      h("pre", { class: "code" }, pretty(job.args)),
      job.error
        ? [h("h3", {}, "Error"), h("p", { class: "error-text", id: "job-error" }, job.error.message), job.error.stack ? h("details", {}, h("summary", {}, "Stack"), h("pre", { class: "code" }, job.error.stack)) : null]
        : null,
      job.state === "completed" ? [h("h3", {}, "Result"), h("pre", { class: "code", id: "job-result" }, pretty(job.result))] : null,
      h("h3", {}, `Logs (${job.logs.length})`),
      job.logs.length ? h("pre", { class: "code logs", id: "job-logs" }, job.logs.join("\n")) : h("p", { class: "muted" }, "No log lines."),
    );
  };

  const refresh = async () => {
    try {
      render(await api.job(id));
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 404 && current) {
        replaceChildren(container, h("p", { class: "muted", id: "job-gone" }, `Job ${id} no longer exists (revoked before it ran, or removed by retention).`));
      } else {
        replaceChildren(container, h("p", { class: "error-text", role: "alert" }, error instanceof Error ? error.message : String(error)));
      }
    }
  };
  const refreshSoon = debounce(() => void refresh(), 150);
  void refresh();

  return live.onJob((event) => {
    if (event.id !== id) return;
    if (event.event === "progress") {
      const bar = document.getElementById("job-progress");
      if (bar) replaceChildren(bar, progressBar(event.progress));
    }
    refreshSoon();
  });
}
