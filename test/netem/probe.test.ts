import { expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { probeNetem, probeQdiscs } from '../../netem/kernel/probe.ts';
import { describeRoot, hostNamespaces, hostSnapshot } from './helpers.ts';

/** Independent evidence: the module is built in/loaded, or modprobe can find it. */
async function kernelHasNetem(): Promise<boolean> {
  if (existsSync('/sys/module/sch_netem')) return true;
  const r = await execa('modinfo', ['sch_netem'], { reject: false });
  return r.exitCode === 0;
}

describeRoot('qdisc probes (in a throwaway namespace)', () => {
  it('netem: agrees with the kernel, quoting the kernel`s error when unavailable, and changes nothing on the host', async () => {
    const before = await hostSnapshot();
    const nsBefore = (await hostNamespaces()).filter((n) => n.startsWith('bnch-probe'));
    const r = await probeNetem(undefined, { fresh: true });
    const expected = await kernelHasNetem();
    expect(r.ok).toBe(expected);
    if (!expected) expect(r.detail).toMatch(/^tc netem unavailable: .*qdisc kind is unknown/);
    expect(await hostSnapshot()).toEqual(before);
    expect((await hostNamespaces()).filter((n) => n.startsWith('bnch-probe'))).toEqual(nsBefore);
  });

  it('tbf and htb work (this product`s kernel requirement for the rate stack)', async () => {
    const r = await probeQdiscs(['tbf', 'htb']);
    expect(r.tbf).toEqual({ ok: true, detail: 'tc qdisc add ... tbf works' });
    expect(r.htb.ok).toBe(true);
  });
});
