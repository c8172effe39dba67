import { describe, expect, it } from 'vitest';
import { planCells, rotate } from '../../src/runner/plan.ts';

describe('planCells', () => {
  it('rotates the protocol order per repetition so drift falls on every protocol alike', () => {
    const cells = planCells({ networks: ['n'], protocols: ['h1', 'h2', 'h3'], workloads: ['w'], repetitions: 3 });
    expect(cells.map((c) => c.protocol).join(' ')).toBe('h1 h2 h3 h2 h3 h1 h3 h1 h2');
    expect(cells.map((c) => c.order)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('gives each protocol the first slot equally often over a full rotation', () => {
    const cells = planCells({ networks: ['a', 'b'], protocols: ['h1', 'h2', 'h3'], workloads: ['x', 'y'], repetitions: 6 });
    const firsts = new Map<string, number>();
    for (const c of cells.filter((_, i) => i % 3 === 0)) firsts.set(c.protocol, (firsts.get(c.protocol) ?? 0) + 1);
    expect([...firsts.values()]).toEqual([8, 8, 8]);
    expect(cells).toHaveLength(2 * 6 * 2 * 3);
  });

  it('rotate handles empty and single lists', () => {
    expect(rotate([], 3)).toEqual([]);
    expect(rotate(['h2'], 5)).toEqual(['h2']);
  });
});
