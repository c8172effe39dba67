import type { RequestRecord } from '../drivers/types.ts';
import type { GoodputSeries } from '../results/details.ts';

/** Response bytes delivered per `binMs` from `start`, from each request's chunk arrivals (RequestSpec.recordProgress). */
export function goodputBins(records: readonly RequestRecord[], start: number, binMs: number): GoodputSeries {
  const bytes: number[] = [];
  for (const r of records) {
    let before = 0;
    for (const [t, total] of r.progress ?? []) {
      const bin = Math.max(0, Math.floor((t - start) / binMs));
      while (bytes.length <= bin) bytes.push(0);
      bytes[bin]! += total - before;
      before = total;
    }
  }
  return { binMs, bytes };
}
