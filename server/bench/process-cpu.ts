/**
 * CPU time of another process, for the recommendation benchmark: the load
 * generator reads the measured server's, and the benchmark waits on it
 * between runs.
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
