/** Longest piece of outside text (request input, OP answers, claim values) put into one log line. */
export const MAX_LOGGED_TEXT = 200;

/**
 * Outside text made safe for a log line: control characters (C0, DEL, C1, and the Unicode line and
 * paragraph separators) become a space, so a value can never start a forged log line (CWE-117), and the
 * result is cut to `max` characters with an ellipsis. Non-strings are described by type, never dumped.
 * Use it for every value that comes from a request or from the OP; never pass tokens, codes, cookies or
 * secrets at all.
 */
export function logText(value: unknown, max = MAX_LOGGED_TEXT): string {
  if (value === undefined) return '(none)';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return `(${Array.isArray(value) ? 'array' : typeof value})`;
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
