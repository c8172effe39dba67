import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { formatDoctorReport, runDoctor, type DoctorReport } from '../../netem/doctor.ts';
import { RecordingRunner } from '../../netem/exec.ts';
import { checkTool } from '../../netem/doctor.ts';
import { describeRoot, hostSnapshot } from './helpers.ts';

describe('doctor report formatting', () => {
  it('marks required failures FAIL, optional ones warn, and prints the fix under them', () => {
    const r: DoctorReport = {
      ok: false,
      autoBackend: 'none',
      autoReason: 'a required check failed',
      checks: [
        { name: 'root', ok: false, detail: 'running as uid 1000', fix: 'run with sudo', level: 'required' },
        { name: 'tc netem', ok: false, detail: 'Error: Specified qdisc kind is unknown.', fix: 'modprobe sch_netem', level: 'optional' },
        { name: 'ip', ok: true, detail: '/usr/sbin/ip: iproute2-6.1.0', level: 'required' },
      ],
    };
    expect(formatDoctorReport(r).split('\n')).toEqual([
      '  FAIL  root                       running as uid 1000',
      '        fix: run with sudo',
      '  warn  tc netem                   Error: Specified qdisc kind is unknown.',
      '        fix: modprobe sch_netem',
      '  ok    ip                         /usr/sbin/ip: iproute2-6.1.0',
      '',
      'shaped networks: no (fix the FAIL lines above; `network: none` runs on loopback meanwhile)',
    ]);
  });

  it('says which backend auto picks and why', () => {
    const r: DoctorReport = {
      ok: true,
      autoBackend: 'userspace',
      autoReason: "the kernel link's fidelity measurement on this machine failed (lateness out of bounds, 2026-12-04; bench doctor --measure repeats it)",
      checks: [{ name: 'tc netem', ok: true, detail: 'tc qdisc add ... netem works', level: 'optional' }],
    };
    expect(formatDoctorReport(r).split('\n').at(-1)).toBe(
      "shaped networks: yes (backend auto -> userspace: the kernel link's fidelity measurement on this machine failed (lateness out of bounds, 2026-12-04; bench doctor --measure repeats it))",
    );
  });

  it('a missing tool is reported with its fix; a present one with path and first version line', async () => {
    const exec = new RecordingRunner((argv) =>
      argv[0] === 'sh' ? (argv[4] === 'wrk' ? { exitCode: 1 } : { stdout: '/usr/bin/caddy\n' }) : { stdout: 'v2.6.2 h1:abc\nmore' },
    );
    const spec = { bins: ['x'], versionArgs: ['version'], level: 'optional' as const, fix: 'install it', why: 'why' };
    expect(await checkTool(exec, { ...spec, name: 'caddy', bins: ['caddy'] })).toEqual({ name: 'caddy', ok: true, detail: '/usr/bin/caddy: v2.6.2 h1:abc', level: 'optional' });
    expect(await checkTool(exec, { ...spec, name: 'wrk', bins: ['wrk'] })).toEqual({ name: 'wrk', ok: false, detail: 'not found on PATH (why)', fix: 'install it', level: 'optional' });
  });
});

describeRoot('bench doctor on this machine', () => {
  it('agrees with independent evidence, appends --measure findings, and changes nothing on the host', async () => {
    const before = await hostSnapshot();
    const r = await runDoctor({ measure: async () => [{ name: 'fidelity: delay', ok: true, detail: 'measured by the hook', level: 'optional' }] });
    const by = (n: string) => r.checks.find((c) => c.name === n)!;
    expect(by('root').ok).toBe(true);
    expect(by('network namespaces').ok).toBe(true);
    expect(by('tun').ok).toBe(existsSync('/dev/net/tun'));
    const netemKnown = existsSync('/sys/module/sch_netem') || (await execa('modinfo', ['sch_netem'], { reject: false })).exitCode === 0;
    expect(by('tc netem').ok).toBe(netemKnown);
    const available = (await execa('sysctl', ['-n', 'net.ipv4.tcp_available_congestion_control'])).stdout.split(/\s+/);
    expect(by('congestion control cubic').ok).toBe(available.includes('cubic'));
    for (const peer of ['caddy', 'chromium', 'h2load', 'wrk', 'tshark']) {
      const found = (await execa('sh', ['-c', `command -v ${peer}`], { reject: false })).exitCode === 0;
      if (peer !== 'chromium') expect(by(peer).ok).toBe(found);
      if (!by(peer).ok) expect(by(peer).fix).toBeTruthy();
    }
    expect(r.checks.at(-1)).toEqual({ name: 'fidelity: delay', ok: true, detail: 'measured by the hook', level: 'optional' });
    // Without a verdict on the kernel link's fidelity, auto never picks it.
    expect(r.autoBackend).toBe(r.ok ? 'userspace' : 'none');
    const trusted = await runDoctor({ kernelVerdict: async () => ({ trusted: true, reason: 'its fidelity measurement on this machine passed' }) });
    expect(trusted.autoBackend).toBe(trusted.ok ? (by('tc netem').ok ? 'kernel' : 'userspace') : 'none');
    expect(await hostSnapshot()).toEqual(before);
  });
});
