/** CPU time of a process from Linux's /proc, for the autoscaler's `cpu` type (no cgroup or ps needed). */
import { readFile } from 'node:fs/promises';

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every architecture Node runs on under Linux. */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU seconds `pid` has used (all its threads), or null when it cannot be read (the
 * process is gone, or this is not Linux).
 */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
