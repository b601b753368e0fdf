/**
 * CPU time and resident memory of another process, for the recommendation
 * benchmark: the load generator reads the measured server's CPU, the benchmark
 * waits on it between runs and reads its memory after serving.
 */
import { readFileSync } from 'node:fs';

/** utime + stime of a process in ms, from /proc/<pid>/stat; null off Linux or for no pid. */
export function processCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of the file, in clock ticks; Linux reports them at USER_HZ = 100.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** Resident memory of a process in MB, from /proc/<pid>/status; null off Linux or for no pid. */
export function processRssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}
