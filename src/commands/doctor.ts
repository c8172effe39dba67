import { cleanupLeftovers } from '../../netem/cleanup.ts';
import { formatDoctorReport, runDoctor, type DoctorCheck } from '../../netem/doctor.ts';
import { formatFidelity, measureFidelity, type FidelityMeasurement } from '../../netem/fidelity.ts';
import { isRoot } from '../../netem/topology.ts';
import { createUserspaceBackend } from '../../netem/userspace/index.ts';
import { saveFidelity } from '../runner/fidelity-cache.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

export interface DoctorOptions {
  measure?: boolean;
  cleanup?: boolean;
  json?: boolean;
}

export async function doctorCommand(opts: DoctorOptions): Promise<number> {
  if ((opts.measure || opts.cleanup) && !isRoot()) {
    throw new UserError('E_ROOT', `bench doctor ${opts.measure ? '--measure' : '--cleanup'} needs root (network namespaces and TUN devices); run it with sudo`);
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
  let fidelity: FidelityMeasurement | undefined;
  const measure = opts.measure
    ? async (): Promise<DoctorCheck[]> => {
        fidelity = await measureFidelity(() => createUserspaceBackend(), {
          log: opts.json ? undefined : (line) => process.stderr.write(`measure: ${line}\n`),
        });
        saveFidelity(fidelity);
        return Object.entries(fidelity.pass).map(([name, ok]) => ({
          name: `fidelity ${name}`,
          ok,
          detail: ok ? 'within bounds' : 'outside bounds (see below)',
          level: 'required' as const,
        }));
      }
    : undefined;
  const report = await runDoctor({ measure });
  out.doctor = report;
  if (fidelity) out.fidelity = fidelity;
  if (opts.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    process.stdout.write(formatDoctorReport(report) + '\n');
    if (fidelity) process.stdout.write('\n' + formatFidelity(fidelity) + '\n');
  }
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.doctorCheckFailed;
}
