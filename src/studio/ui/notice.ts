/** One line at the top of the page for the outcome of an action: the server's own message on failure. */
import { ApiFailure } from "./api.ts";
import { h, replaceChildren } from "./dom.ts";

let timer: ReturnType<typeof setTimeout> | undefined;

export function notify(message: string, kind: "ok" | "error" = "ok"): void {
  const region = document.getElementById("notice");
  if (!region) return;
  clearTimeout(timer);
  region.className = `notice ${kind}`;
  region.setAttribute("role", kind === "error" ? "alert" : "status");
  replaceChildren(region, h("span", {}, message), h("button", { type: "button", class: "link", "aria-label": "dismiss", onclick: () => clear() }, "×"));
  if (kind === "ok") timer = setTimeout(clear, 6000);
}

function clear(): void {
  const region = document.getElementById("notice");
  if (region) {
    region.className = "notice";
    region.replaceChildren();
  }
}

/** Shows a failed call as the server explained it: its message, and its hint when it gave one. */
export function notifyFailure(action: string, error: unknown): void {
  if (error instanceof ApiFailure) notify(`${action} failed: ${error.message}${error.hint ? ` — ${error.hint}` : ""}`, "error");
  else notify(`${action} failed: ${error instanceof Error ? error.message : String(error)}`, "error");
}

/** Runs an action from a button, disabling it meanwhile; reports success or the server's message. */
export async function runAction<T>(button: HTMLButtonElement | null, action: string, perform: () => Promise<T>, success: (result: T) => string): Promise<T | undefined> {
  if (button) button.disabled = true;
  try {
    const result = await perform();
    notify(success(result));
    return result;
  } catch (error) {
    notifyFailure(action, error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}
