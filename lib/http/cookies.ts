/** Attributes of a Set-Cookie header (RFC 6265 §4.1). */
export interface CookieAttributes {
  maxAge?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  path?: string;
  domain?: string;
}

/** RFC 6265 §4.1.1 token characters; anything else is refused rather than escaped. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^[!#-+\--:<-[\]-~]*$/;
/** RS-06: a hostile Cookie header must not cost more than this to parse. */
const MAX_COOKIE_HEADER = 16 * 1024;
const MAX_COOKIES = 100;

/**
 * Parses a Cookie header into name → value (first occurrence wins, as browsers send the most specific
 * path first). Oversized headers and excess pairs are ignored, never thrown on.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  forEachCookie(header, (name, value) => {
    if (!cookies.has(name)) cookies.set(name, value);
    return false;
  });
  return cookies;
}

/** The value of one cookie, as {@link parseCookieHeader} would give it, without building the map. */
export function readCookie(header: string | undefined, wanted: string): string | undefined {
  let found: string | undefined;
  forEachCookie(header, (name, value) => {
    if (name !== wanted) return false;
    found = value;
    return true;
  });
  return found;
}

/** Calls `visit` with each well-formed pair in order until it returns true. */
function forEachCookie(header: string | undefined, visit: (name: string, value: string) => boolean): void {
  if (!header || header.length > MAX_COOKIE_HEADER) return;
  let count = 0;
  for (const pair of header.split(';')) {
    if (++count > MAX_COOKIES) break;
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!COOKIE_NAME.test(name) || !COOKIE_VALUE.test(value)) continue;
    if (visit(name, value)) return;
  }
}

/** Serializes a Set-Cookie header value. Throws a TypeError on a name or value that is not a cookie token. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!COOKIE_NAME.test(name)) throw new TypeError(`Invalid cookie name "${name}".`);
  if (!COOKIE_VALUE.test(value)) throw new TypeError(`Invalid value for cookie "${name}".`);
  let out = `${name}=${value}`;
  if (attributes.maxAge !== undefined) {
    out += `; Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`;
    if (attributes.maxAge <= 0) out += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  if (attributes.domain) out += `; Domain=${attributes.domain}`;
  out += `; Path=${attributes.path ?? '/'}`;
  if (attributes.httpOnly !== false) out += '; HttpOnly';
  if (attributes.secure) out += '; Secure';
  if (attributes.sameSite) out += `; SameSite=${attributes.sameSite[0]!.toUpperCase()}${attributes.sameSite.slice(1)}`;
  return out;
}
