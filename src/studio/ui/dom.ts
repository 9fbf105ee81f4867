/**
 * The dashboard's whole "framework": an element builder that only ever sets text (never HTML,
 * so job data cannot inject markup) and a few formatters.
 */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(parent: Element, ...children: Array<Child | Child[]>): void {
  parent.replaceChildren();
  append(parent, children);
}

/** "4s", "3m", "2h", "5d" since (or until) the time. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return "–";
  const ms = Math.abs(now - Date.parse(iso));
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.floor(ms / 86_400_000)}d`;
}

export function localTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "–";
}

export function duration(fromIso: string | null, toIso: string | null): string {
  if (!fromIso || !toIso) return "–";
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A timestamp that shows its age and keeps it current (see tickAges). */
export function ageLabel(iso: string | null, suffix = " ago"): HTMLElement {
  return h("time", { "data-age": iso ?? "", "data-suffix": suffix, datetime: iso ?? "", title: localTime(iso) }, iso ? `${age(iso)}${suffix}` : "–");
}

export function tickAges(root: ParentNode = document): void {
  const now = Date.now();
  for (const element of root.querySelectorAll<HTMLElement>("time[data-age]")) {
    const iso = element.dataset.age;
    if (iso) element.textContent = `${age(iso, now)}${element.dataset.suffix ?? ""}`;
  }
}

/** A job's progress: the percentage it reported, an object as JSON, and full once it completed (most tasks never report). */
export function progressBar(progress: unknown, state?: string): HTMLElement {
  const reported = typeof progress === "number" ? Math.max(0, Math.min(100, progress)) : null;
  const percent = state === "completed" && (reported ?? 0) === 0 ? 100 : reported;
  const bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": percent ?? undefined });
  bar.appendChild(h("span", { style: `width: ${percent ?? 0}%` }));
  bar.appendChild(h("em", {}, percent === null ? (progress && typeof progress === "object" ? JSON.stringify(progress) : "") : `${Math.round(percent)}%`));
  return bar;
}

export function stateBadge(state: string): HTMLElement {
  return h("span", { class: `badge state-${state}`, "data-state": state }, state);
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** Calls fn at most once per wait, after the last call (for bursts of events). */
export function debounce(fn: () => void, waitMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, waitMs);
  };
}
