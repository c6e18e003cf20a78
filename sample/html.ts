import { applyDecorators, Header } from '@nestjs/common';

/**
 * Tiny HTML helpers for the sample's pages: no template engine, no external resources.
 * Everything that did not come from this file (claims, names, URLs) goes through {@link escapeHtml}.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in HTML element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A claim value as display text: strings as they are, everything else (numbers, objects, arrays) as JSON. */
export function claimText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? String(value);
}

/**
 * Headers for every page: not cached (the pages show a user's data), and a Content-Security-Policy
 * that allows nothing but the inline stylesheet — a claim that slipped past escaping still could not run.
 */
export const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'",
} as const;

const STYLE = `
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  main { max-width: 760px; margin: 3rem auto; padding: 2rem 2.5rem; background: #fff; border: 1px solid #d0d7de; border-radius: 12px; }
  h1 { margin-top: 0; font-size: 1.6rem; }
  a { color: #0969da; }
  .button, button { display: inline-block; font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid #1f883d;
                    background: #1f883d; color: #fff; text-decoration: none; cursor: pointer; }
  button.secondary { background: #fff; color: #cf222e; border-color: #cf222e; }
  form.inline { display: inline; margin: 0; }
  nav { display: flex; gap: 1rem; align-items: center; margin-top: 1.5rem; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
  th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; }
  th { width: 30%; font-weight: 600; white-space: nowrap; }
  td pre, code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; margin: 0; white-space: pre-wrap; word-break: break-all; }
  .muted { color: #656d76; font-size: .9rem; }
`;

/** A complete page. `title` is escaped here; `body` must already be safe HTML (build it with escapeHtml). */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

/** The logout button: a POST form, so that a link or image on another site cannot log the user out. */
export function logoutForm(): string {
  return '<form class="inline" method="post" action="/auth/logout"><button type="submit" class="secondary">Log out</button></form>';
}

/** Sets {@link PAGE_HEADERS} on a route that returns an HTML string (Express and Fastify alike). */
export function HtmlPage(): MethodDecorator {
  return applyDecorators(...Object.entries(PAGE_HEADERS).map(([name, value]) => Header(name, value)));
}

/** What to call the user: `name`, else `preferred_username`, else `email`, else the subject. Not escaped. */
export function displayName(claims: Record<string, unknown>, sub: string): string {
  for (const claim of ['name', 'preferred_username', 'email']) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return sub;
}
