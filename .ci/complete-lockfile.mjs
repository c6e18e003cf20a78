// npm records a package's platform-specific optional dependencies in package-lock.json only when the
// registry can serve them; the registry these machines use lacks some (e.g. @swc/core-darwin-arm64),
// and `npm ci` then refuses the lockfile as out of sync. This adds the missing entries, marked optional
// and limited to their os/cpu so no install ever fetches them. Idempotent; run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2] ?? new URL('../package-lock.json', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pk = lock.packages;
const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix'];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32'];
let added = 0;
for (const entry of Object.values(pk)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (pk[target]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os || !cpu) {
      console.error('cannot infer platform of', name);
      continue;
    }
    const e = { version: spec.replace(/^[\^~=]/, ''), cpu: [cpu], os: [os], optional: true };
    if (entry.dev) e.dev = true;
    if (parts.includes('musl')) e.libc = ['musl'];
    else if (parts.includes('gnu') || parts.includes('gnueabihf')) e.libc = ['glibc'];
    pk[target] = e;
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
if (added) console.log(`complete-lockfile: added ${added} platform-specific optional entries`);
