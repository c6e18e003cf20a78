import { decodeJwt, decodeProtectedHeader } from 'jose';

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

/** A value from a token or the OP, quoted when a string, for a log line (see {@link logText}). */
export function logValue(value: unknown): string {
  return logText(typeof value === 'string' ? `"${value}"` : JSON.stringify(value ?? null), 120);
}

/**
 * The non-secret facts of a compact JWT for a log line — `iss`, `aud`, `azp` (else `client_id`), `alg`, `kid`,
 * `typ` — with the decoded payload for further checks; never the token or any part that could be replayed.
 * Undefined when the token does not decode.
 */
export function jwtLogFacts(token: string): { facts: string; payload: Record<string, unknown> } | undefined {
  try {
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token) as Record<string, unknown>;
    const facts = [
      `iss ${logValue(payload.iss)}`,
      `aud ${logValue(payload.aud)}`,
      `azp ${logValue(payload.azp ?? payload.client_id)}`,
      `alg ${logValue(header.alg)}`,
      `kid ${logValue(header.kid)}`,
      `typ ${logValue(header.typ)}`,
    ].join(', ');
    return { facts, payload };
  } catch {
    return undefined;
  }
}
