import { cpus, totalmem } from 'node:os';

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
}

export function describeMachine(): Machine {
  const all = cpus();
  return {
    node: process.version,
    cpu: all[0]?.model.trim() ?? 'unknown CPU',
    cores: all.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

export const machineLine = (m: Machine): string =>
  `machine: node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`;
