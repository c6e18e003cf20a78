import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCookieHeader, readCookie } from './cookies.js';

/**
 * The platform seam: the only place that touches Express or Fastify request/response objects.
 * Express passes `req`/`res` (node's IncomingMessage/ServerResponse with extras); Fastify passes
 * `FastifyRequest`/`FastifyReply`, which wrap them (`.raw`).
 */
export type PlatformRequest = object;
export type PlatformResponse = object;

interface FastifyReplyLike {
  raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  header(name: string, value: string | string[]): FastifyReplyLike;
  getHeader(name: string): string | string[] | number | undefined;
  send(body?: unknown): unknown;
  sent: boolean;
}

interface ExpressResponseLike extends ServerResponse {
  status(code: number): ExpressResponseLike;
  send(body?: unknown): unknown;
}

const COOKIES = Symbol('nestjs-oidc.cookies');

function isFastifyReply(res: PlatformResponse): res is FastifyReplyLike {
  return typeof (res as FastifyReplyLike).code === 'function' && 'raw' in res;
}

function rawRequest(req: PlatformRequest): IncomingMessage {
  const raw = (req as { raw?: IncomingMessage }).raw;
  return raw && typeof raw === 'object' && 'headers' in raw ? raw : (req as IncomingMessage);
}

/** Upper-case HTTP method. */
export function requestMethod(req: PlatformRequest): string {
  return (rawRequest(req).method ?? 'GET').toUpperCase();
}

/** Path and query as the client sent them (before any framework rewriting). */
export function requestPathAndQuery(req: PlatformRequest): string {
  const express = (req as { originalUrl?: string }).originalUrl;
  return express ?? rawRequest(req).url ?? '/';
}

/** Query parameters from the raw URL, keeping repeated names (so duplicates can be refused). */
export function requestQuery(req: PlatformRequest): URLSearchParams {
  const url = requestPathAndQuery(req);
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}

/** A request header (first value). */
export function requestHeader(req: PlatformRequest, name: string): string | undefined {
  const value = rawRequest(req).headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Every raw occurrence of a header, in order (node joins most repeated headers; rawHeaders keeps them apart). */
export function requestHeaderAll(req: PlatformRequest, name: string): string[] {
  const raw = rawRequest(req).rawHeaders;
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) out.push(raw[i + 1]!);
  return out;
}

/**
 * One cookie of the request, read from the header without keeping anything on the request (adding a property
 * to a platform request object costs more than reading a short header again).
 */
export function requestCookie(req: PlatformRequest, name: string): string | undefined {
  return readCookie(requestHeader(req, 'cookie'), name);
}

/** Parsed cookies of the request, parsed once per request. */
export function requestCookies(req: PlatformRequest): Map<string, string> {
  const holder = req as { [COOKIES]?: Map<string, string> };
  return (holder[COOKIES] ??= parseCookieHeader(requestHeader(req, 'cookie')));
}

/** Largest form body read when the platform did not parse it (the platforms' own parsers cap it too). */
export const MAX_FORM_BODY = 64 * 1024;

/** Charsets a form body may declare (ASCII-compatible; what Express's own form parser accepts, and ASCII). */
const FORM_CHARSETS = new Set(['utf-8', 'utf8', 'iso-8859-1', 'us-ascii']);

/**
 * Where a route-scoped reader that ran before the platform's body parser leaves the raw body (a Buffer), so
 * the form is parsed here, field names exactly as sent (see `OidcPlatformRefusals`).
 */
export const RAW_BODY = Symbol('nestjs-oidc.raw-body');

/** The url-encoded form body as pairs (repeated names kept). Uses the platform's parse when present. */
export async function requestForm(req: PlatformRequest): Promise<URLSearchParams | undefined> {
  const [type, ...params] = (requestHeader(req, 'content-type') ?? '').split(';');
  if (type!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') return undefined;
  // A form is percent-encoded ASCII (WHATWG URL §5): a charset that is not a superset of ASCII is not one.
  const charset = params.map((p) => p.split('=')).find(([name]) => name!.trim().toLowerCase() === 'charset')?.[1];
  if (charset !== undefined && !FORM_CHARSETS.has(charset.trim().replace(/^"|"$/g, '').toLowerCase())) return undefined;
  // A compressed body is not a form this module reads (the OP sends a plain one, Back-Channel Logout §2.5).
  const encoding = (requestHeader(req, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') return undefined;
  const rawBody = (req as { [RAW_BODY]?: unknown })[RAW_BODY];
  if (Buffer.isBuffer(rawBody)) return new URLSearchParams(rawBody.toString('utf8'));
  const body = (req as { body?: unknown }).body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return new URLSearchParams(body.toString());
  if (body && typeof body === 'object') {
    const params = new URLSearchParams();
    // A body parser with bracket syntax (Express's `qs`) turns `name[]=x`, `name[a]=x` and repeated names into
    // arrays and objects: they keep a name of their own here, so `name` alone is only ever a plain `name=x`.
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (typeof v === 'string') params.append(k, v);
      else for (const item of Array.isArray(v) ? v : [v]) params.append(`${k}[]`, typeof item === 'string' ? item : JSON.stringify(item));
    }
    return params;
  }
  const raw = rawRequest(req);
  if (raw.readableEnded) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Sets a response header (replacing). */
export function setResponseHeader(res: PlatformResponse, name: string, value: string): void {
  if (isFastifyReply(res)) res.header(name, value);
  else (res as ServerResponse).setHeader(name, value);
}

/** Appends one Set-Cookie header, keeping any set before. */
export function appendSetCookie(res: PlatformResponse, cookie: string): void {
  if (isFastifyReply(res)) {
    // Fastify's reply.header() appends set-cookie values to the ones already set.
    res.header('set-cookie', cookie);
    return;
  }
  const node = res as ServerResponse;
  const existing = node.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  node.setHeader('set-cookie', [...list, cookie]);
}

/** Sends a complete response. */
export function sendResponse(res: PlatformResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (isFastifyReply(res)) {
    res.code(status);
    for (const [k, v] of Object.entries(headers)) res.header(k, v);
    void res.send(body);
    return;
  }
  const express = res as ExpressResponseLike;
  for (const [k, v] of Object.entries(headers)) express.setHeader(k, v);
  express.status(status).send(body);
}

/** A Node-style response whose headers can be set (Express's `res`). */
interface HeaderTarget {
  setHeader(name: string, value: string | string[]): unknown;
  getHeader(name: string): unknown;
}

function isHeaderTarget(value: unknown): value is HeaderTarget {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as HeaderTarget).setHeader === 'function' &&
    typeof (value as HeaderTarget).getHeader === 'function'
  );
}

/**
 * The response a Passport strategy can reach. Passport hands strategies the request only; Express links
 * it to its response (`req.res`), Fastify does not. Headers are recorded here (to read the challenge back)
 * and forwarded to the real response when there is one; on Fastify they stay here, so `WWW-Authenticate`,
 * `Cache-Control` and cookie changes are not sent and a login redirect becomes a 401.
 */
class StrategyResponse implements HeaderTarget {
  private readonly headers = new Map<string, string | string[]>();

  constructor(readonly target: HeaderTarget | undefined) {}

  setHeader(name: string, value: string | string[]): void {
    this.headers.set(name.toLowerCase(), value);
    this.target?.setHeader(name, value);
  }

  getHeader(name: string): unknown {
    return this.headers.get(name.toLowerCase()) ?? this.target?.getHeader(name);
  }
}

/** The {@link StrategyResponse} of a request handed to a Passport strategy. */
export function strategyResponseOf(req: PlatformRequest): StrategyResponse {
  const expressResponse = (req as { res?: unknown }).res;
  return new StrategyResponse(isHeaderTarget(expressResponse) ? expressResponse : undefined);
}
