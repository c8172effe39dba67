/**
 * `npm run vm -- [options] [-- command ...]`: runs a command as root inside Debian's kernel under
 * qemu (test/kernel-vm/vm.ts), its output streamed, and exits with its exit code. Without a command
 * it runs the kernel backend's suite (test/kernel/). Ctrl-C, SIGTERM and SIGHUP kill the machine.
 *
 *   npm run vm -- -- tc qdisc add dev lo root netem delay 25ms
 *   npm run vm -- --cpus 1 --timeout 5m -- npx bench doctor --measure --backend kernel
 *   npm run vm -- --out /tmp/vm-out -- 'bench run scenarios/smoke.yaml --out $VM_OUT/smoke'
 */
import { parseArgs } from 'node:util';
import { kernelSuiteCommand, missingRequirements, runInVm } from './vm.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cpus: { type: 'string', default: '2' },
    memory: { type: 'string', default: '3072' },
    timeout: { type: 'string', default: '15m' },
    out: { type: 'string' },
  },
});

function parseMinutesOrSeconds(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)$/.exec(s);
  if (!m) throw new Error(`--timeout ${s}: expected e.g. 90s or 15m`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000);
}

const missing = missingRequirements();
if (missing.length) {
  console.error(`cannot run the kernel-test machine; missing: ${missing.join('; ')}`);
  process.exit(2);
}

const controller = new AbortController();
let signalled: NodeJS.Signals | undefined;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    signalled ??= sig;
    controller.abort();
  });
}

const command = positionals.length ? positionals.join(' ') : kernelSuiteCommand();
console.error(`vm: booting, then: ${command}`);
const r = await runInVm({
  command,
  cpus: Number(values.cpus),
  memoryMb: Number(values.memory),
  timeoutMs: parseMinutesOrSeconds(values.timeout!),
  outDir: values.out,
  onLine: (line) => process.stdout.write(line + '\n'),
  signal: controller.signal,
});
const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
console.error(`vm: boot ${secs(r.bootMs)}, total ${secs(r.totalMs)}, ${r.failure ? `${r.failure}${r.detail ? `: ${r.detail}` : ''}` : `exit ${r.exitCode}`}`);
if (r.failure === 'boot-failed') console.error(r.console.split('\n').slice(-30).join('\n'));
if (signalled) process.exit({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 }[signalled as 'SIGINT']);
process.exit(r.exitCode ?? 3);
