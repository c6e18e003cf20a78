// CPU time of a child process, from /proc/<pid>/stat (utime + stime, in clock ticks): steadier than req/s on
// shared machines, so the bench reports server CPU µs per request beside req/s and judges its targets by it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU microseconds the process has used so far (user + system), or NaN where /proc is not there. */
export function cpuMicros(pid) {
  return statMicros(`/proc/${pid}/stat`);
}

/**
 * CPU microseconds of the process's main thread alone (JavaScript; not the GC helpers, the libuv pool running
 * WebCrypto jobs, or the compiler threads), or NaN.
 */
export function mainThreadCpuMicros(pid) {
  return statMicros(`/proc/${pid}/task/${pid}/stat`);
}

function statMicros(file) {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ": utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
  } catch {
    return NaN;
  }
}
