/**
 * What every section renderer gets: the result, the raw events when available, the run's
 * structure (networks, workloads, protocols in a stable order) and a place to put charts.
 */
import type { RawEvent } from '../results/events.ts';
import type { Protocol } from '../drivers/types.ts';
import { PROTOCOLS } from '../drivers/types.ts';
import { escapeHtml } from './escape.ts';
import type { Cell, NetworkVariantResult, RunResult } from '../results/model.ts';

/** A vega-lite specification (kept loose: the report builds them from plain objects). */
export type VegaLiteSpec = Record<string, unknown>;

export interface ChartSlot {
  id: string;
  spec: VegaLiteSpec;
}

/** One workload run on one network variant: the unit most sections render. */
export interface WorkloadScope {
  network: NetworkVariantResult;
  workload: string;
  workloadType: string;
  protocols: Protocol[];
  /** Every cell of this (network, workload), all protocols and repetitions. */
  cells: Cell[];
  /** Repetitions that completed per protocol. */
  repetitions: number;
}

export const PROTOCOL_NAMES: Record<Protocol, string> = { h1: 'HTTP/1.1', h2: 'HTTP/2', h3: 'HTTP/3' };
/** The same colour for a protocol in every chart and table. */
export const PROTOCOL_COLORS: Record<Protocol, string> = { h1: '#4c78a8', h2: '#e45756', h3: '#54a24b' };

/** The charts of one page (report.html, compare.html): each registered once, embedded at the end. */
export class ChartRegistry {
  readonly charts: ChartSlot[] = [];
  private nextId = 0;

  /** Registers a chart and returns the HTML of its container. */
  chart(spec: VegaLiteSpec, opts: { title: string; caption?: string; source?: string; className?: string }): string {
    const id = `chart-${this.nextId++}`;
    this.charts.push({ id, spec: compactData(spec) });
    const parts = [
      opts.caption ? escapeHtml(opts.caption) : '',
      opts.source ? `<span class="source">Source: ${escapeHtml(opts.source)}</span>` : '',
    ].filter(Boolean);
    const caption = parts.length ? `<figcaption>${parts.join(' ')}</figcaption>` : '';
    return (
      `<figure class="chart ${opts.className ?? ''}">` +
      `<div class="chart-title">${escapeHtml(opts.title)}</div>` +
      `<div class="chart-body" id="${id}" data-chart></div>${caption}</figure>`
    );
  }
}

export class ReportContext extends ChartRegistry {
  constructor(
    readonly result: RunResult,
    readonly raw?: readonly RawEvent[],
  ) {
    super();
  }

  /** Network variants in scenario order; variants that only appear in cells come last. */
  networks(): NetworkVariantResult[] {
    const known = [...this.result.networks];
    for (const c of this.result.cells) {
      if (!known.some((n) => n.label === c.network)) {
        known.push({ label: c.network, spec: { kind: 'none' }, backend: this.result.environment.emulator.backend });
      }
    }
    return known;
  }

  protocols(cells: readonly Cell[] = this.result.cells): Protocol[] {
    return PROTOCOLS.filter((p) => cells.some((c) => c.protocol === p));
  }

  /** (network, workload) scopes, workloads in order of first appearance. */
  scopes(network: NetworkVariantResult): WorkloadScope[] {
    const cells = this.result.cells.filter((c) => c.network === network.label);
    const workloads = [...new Set(cells.map((c) => c.workload))];
    return workloads.map((workload) => {
      const own = cells.filter((c) => c.workload === workload);
      const protocols = this.protocols(own);
      const repetitions = Math.max(
        0,
        ...protocols.map((p) => own.filter((c) => c.protocol === p && !c.error).length),
      );
      return { network, workload, workloadType: own[0]!.workloadType, protocols, cells: own, repetitions };
    });
  }

  /** "h2 · workload bulk (requests) · network lte · userspace backend · 5 repetitions". */
  provenance(scope: WorkloadScope, protocol?: Protocol, reps = scope.repetitions): string {
    const backend = scope.network.backend === 'none' ? 'not shaped (loopback)' : `${scope.network.backend} backend`;
    return [
      protocol ? PROTOCOL_NAMES[protocol] : undefined,
      `workload ${scope.workload} (${scope.workloadType})`,
      `network ${scope.network.label}`,
      backend,
      `${reps} repetition${reps === 1 ? '' : 's'}`,
    ]
      .filter(Boolean)
      .join(' \u00b7 ');
  }
}

/**
 * Keeps embedded chart data small: numbers to 6 significant digits (beyond what any axis or
 * tooltip prints), and fields with one value in every row (network, backend ...) moved out of the
 * rows into calculate transforms, so thousands of points do not repeat them.
 */
export function compactData(spec: VegaLiteSpec): VegaLiteSpec {
  const data = spec.data as { values?: Array<Record<string, unknown>> } | undefined;
  const rows = data?.values;
  if (!rows || rows.length < 2) return spec;
  const constants = Object.keys(rows[0]!).filter((k) => {
    const v = rows[0]![k];
    return (typeof v === 'string' || typeof v === 'number') && rows.every((r) => r[k] === v);
  });
  const values = rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (constants.includes(k)) continue;
      out[k] = typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v;
    }
    return out;
  });
  const calculate = constants.map((k) => ({ calculate: JSON.stringify(rows[0]![k]), as: k }));
  const transform = [...calculate, ...((spec.transform as unknown[]) ?? [])];
  return { ...spec, data: { ...data, values }, ...(transform.length ? { transform } : {}) };
}
