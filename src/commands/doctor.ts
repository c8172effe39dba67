import { cleanupLeftovers } from '../../netem/cleanup.ts';
import { formatDoctorReport, runDoctor, type DoctorCheck } from '../../netem/doctor.ts';
import { formatFidelity, measureFidelity, type FidelityMeasurement } from '../../netem/fidelity.ts';
import { isRoot } from '../../netem/topology.ts';
import { createKernelBackend } from '../../netem/kernel/backend.ts';
import { probeNetem } from '../../netem/kernel/probe.ts';
import { createUserspaceBackend } from '../../netem/userspace/index.ts';
import { kernelVerdict, saveFidelity } from '../runner/fidelity-cache.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

export interface DoctorOptions {
  measure?: boolean;
  cleanup?: boolean;
  json?: boolean;
  /** Which link to measure with --measure: every one this machine can run (default), or one. */
  backend?: 'kernel' | 'userspace' | 'all';
}

export async function doctorCommand(opts: DoctorOptions): Promise<number> {
  if ((opts.measure || opts.cleanup) && !isRoot()) {
    throw new UserError('E_ROOT', `bench doctor ${opts.measure ? '--measure' : '--cleanup'} needs root (network namespaces and TUN devices); run it with sudo`);
  }
  if (opts.backend && opts.backend !== 'all' && !opts.measure) {
    throw new UserError('E_ARG', '--backend chooses the link bench doctor --measure measures; add --measure');
  }
  const out: Record<string, unknown> = {};
  if (opts.cleanup) {
    const removed = await cleanupLeftovers();
    out.cleanup = removed;
    if (!opts.json) {
      const count = removed.namespaces.length + removed.devices.length + removed.processes.length;
      process.stdout.write(
        count === 0
          ? 'cleanup: nothing left behind by earlier runs\n'
          : `cleanup: removed ${removed.namespaces.length} namespace(s) ${removed.namespaces.join(' ')}, ${removed.devices.length} device(s) ${removed.devices.join(' ')}, ${removed.processes.length} link process(es)\n`,
      );
      if (removed.skippedLiveRuns.length) process.stdout.write(`cleanup: left alone, still running: ${removed.skippedLiveRuns.join(' ')}\n`);
    }
  }
  const fidelities: FidelityMeasurement[] = [];
  const log = opts.json ? () => undefined : (line: string) => process.stderr.write(`measure: ${line}\n`);
  const measure = opts.measure
    ? async (): Promise<DoctorCheck[]> => {
        const wanted = opts.backend ?? 'all';
        const backends: Array<'userspace' | 'kernel'> = [];
        if (wanted !== 'kernel') backends.push('userspace');
        if (wanted === 'kernel' || (wanted === 'all' && (await probeNetem()).ok)) backends.push('kernel');
        const checks: DoctorCheck[] = [];
        for (const backend of backends) {
          log(`${backend} link:`);
          const measured = await measureFidelity(
            backend === 'userspace' ? () => createUserspaceBackend() : () => createKernelBackend({ dropLog: false }),
            { log },
          );
          saveFidelity(measured);
          fidelities.push(measured);
          for (const [name, ok] of Object.entries(measured.pass)) {
            checks.push({
              name: `fidelity ${backend} ${name}`,
              ok,
              detail: ok ? 'within bounds' : 'outside bounds (see below)',
              // The userspace link is the one every machine falls back to; a kernel link out of
              // bounds only keeps auto from picking it.
              level: backend === 'userspace' ? ('required' as const) : ('optional' as const),
            });
          }
        }
        return checks;
      }
    : undefined;
  // After --measure the verdict reads what was just measured; never measures on its own.
  const report = await runDoctor({ measure, kernelVerdict: () => kernelVerdict(log, { measure: false }) });
  out.doctor = report;
  if (fidelities.length > 0) out.fidelity = fidelities.find((f) => f.backend === 'userspace') ?? fidelities[0];
  if (fidelities.length > 0) out.fidelities = fidelities;
  if (opts.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    process.stdout.write(formatDoctorReport(report) + '\n');
    for (const f of fidelities) process.stdout.write('\n' + formatFidelity(f) + '\n');
  }
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.doctorCheckFailed;
}
