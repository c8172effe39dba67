import { UserError } from '../util/errors.ts';
import { requestsWorkload } from './requests.ts';
import type { Workload } from './types.ts';

/** Workloads by type name (k6-style executors: one file each, registered here). */
const WORKLOADS = new Map<string, Workload<any>>([[requestsWorkload.type, requestsWorkload]]);

export function registerWorkload(workload: Workload<any>): void {
  WORKLOADS.set(workload.type, workload);
}

export function getWorkload(type: string): Workload<any> {
  const workload = WORKLOADS.get(type);
  if (!workload) {
    throw new UserError('E_WORKLOAD', `unknown workload type "${type}"; known: ${[...WORKLOADS.keys()].join(', ')}`);
  }
  return workload;
}

export function workloadTypes(): string[] {
  return [...WORKLOADS.keys()];
}
