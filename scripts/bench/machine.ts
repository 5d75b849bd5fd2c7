import { execSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  memoryGiB: number;
  loadAverage: number[];
  loadAverageAtEnd?: number[];
  gitCommit: string | undefined;
  date: string;
}

export function machineFacts(): MachineFacts {
  let gitCommit: string | undefined;
  try {
    gitCommit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    gitCommit = undefined;
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
    gitCommit,
    date: new Date().toISOString(),
  };
}
