/** Describes the machine the figures were taken on, so two runs can be told apart. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  os: string;
  loadAvg1: number;
}

/** CPU model (from /proc/cpuinfo where there is one), usable cores, memory, Node and kernel versions. */
export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // Not Linux: os.cpus() already named it.
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvg1: Number(os.loadavg()[0].toFixed(2)),
  };
}
