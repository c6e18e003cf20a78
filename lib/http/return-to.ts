const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';

/**
 * Accepts `returnTo` only as a same-origin relative path (SE-09, RFC 9700 §4.11.1); anything else
 * becomes `/`. Refused: absolute and scheme-relative URLs (`//evil`, `///evil`), backslash tricks
 * (`/\evil`, which browsers treat as `//`), encoded slashes that decode to either, control characters
 * (CRLF header injection, `/\t/evil`), and values over 2048 characters.
 */
export function sanitizeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//')) return '/';
  // Control characters and backslashes have no business in a path we redirect to.
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return '/';
  }
  if (decoded.startsWith('//') || /[\u0000-\u001f\u007f\\]/.test(decoded)) return '/';
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return '/';
  // Dot segments (`/.//evil`, `/x/..//evil`) normalise to `//evil`: check what we would actually emit.
  if (url.pathname.startsWith('//') || url.pathname.startsWith('/\\')) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
