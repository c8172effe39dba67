import type { Protocol } from '../drivers/types.ts';

export interface PlannedCell {
  order: number;
  network: string;
  protocol: Protocol;
  workload: string;
  repetition: number;
}

/**
 * The run order: for each network variant and repetition, every workload over every protocol, with
 * the protocol order rotated per repetition (h1 h2 h3, h2 h3 h1, h3 h1 h2, ...) so that machine
 * drift during the run falls on every protocol alike instead of favouring the first.
 */
export function planCells(input: {
  networks: string[];
  protocols: Protocol[];
  workloads: string[];
  repetitions: number;
}): PlannedCell[] {
  const cells: PlannedCell[] = [];
  for (const network of input.networks) {
    for (let repetition = 0; repetition < input.repetitions; repetition++) {
      const rotated = rotate(input.protocols, repetition);
      for (const workload of input.workloads) {
        for (const protocol of rotated) {
          cells.push({ order: cells.length, network, protocol, workload, repetition });
        }
      }
    }
  }
  return cells;
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
