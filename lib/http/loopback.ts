import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whether `url` names this machine by a loopback literal: `localhost`, an IPv4 address in 127.0.0.0/8, or
 * `[::1]` (RFC 6890; RFC 8252 §8.3). Plain `http:` is tolerated only there (RFC 9700 §2.6). A DNS name that
 * merely starts with `127.` (`127.evil.example`) is an ordinary remote host and is not loopback.
 */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  // URL keeps IPv6 literals bracketed and in canonical form, so ::1 is always `[::1]`.
  if (host.startsWith('[') && host.endsWith(']')) return isIPv6(host.slice(1, -1)) && host === '[::1]';
  return false;
}
