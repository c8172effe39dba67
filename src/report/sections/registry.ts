/**
 * Workload-specific report sections, registered by workload type (handshake, multiplex, page ...).
 * Every workload gets the generic sections (headline table, latency distribution, repetitions);
 * a renderer registered here adds its own after them, inside the same (network, workload) block.
 */
import type { ReportContext, WorkloadScope } from '../context.ts';

/** Returns the section's HTML (use ctx.chart() for charts), or undefined to add nothing. */
export type WorkloadSectionRenderer = (ctx: ReportContext, scope: WorkloadScope) => string | undefined;

const renderers = new Map<string, WorkloadSectionRenderer[]>();

export function registerWorkloadSection(workloadType: string, render: WorkloadSectionRenderer): void {
  renderers.set(workloadType, [...(renderers.get(workloadType) ?? []), render]);
}

export function workloadSections(workloadType: string): readonly WorkloadSectionRenderer[] {
  return renderers.get(workloadType) ?? [];
}
