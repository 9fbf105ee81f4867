const REDACTED = "***";

/** redis://user:secret@host → redis://user:***@host; anything unparsable is returned unchanged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = REDACTED;
    return parsed.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, `$1${REDACTED}@`);
  }
}

/** Replaces every occurrence of the given secrets in free text (error messages from clients). */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 1) result = result.split(secret).join(REDACTED);
  }
  return result;
}

export { REDACTED };
