/**
 * Exact head-of-line blocking end to end: a small multiplex run at 2% loss and 100 ms RTT with
 * --capture. The exact figures are in result.json and the report, and agree with what can be
 * checked independently: each HTTP/3 request stream's decrypted DATA bytes equal the response size,
 * tshark (its own QUIC decryption, with the same key log) reads the same packet numbers, and every
 * stream the capture shows held behind a hole for over half an RTT is one the client's own chunk
 * times show waiting (details.multiplex.waitedRequestsPerLoss).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcapng } from '../../netem/userspace/pcapng.ts';
import { linkPackets } from '../../src/capture/link-packets.ts';
import { decryptQuicConnections } from '../../src/capture/quic-connections.ts';
import type { ExactHol } from '../../src/results/details.ts';
import type { RunResult } from '../../src/results/model.ts';
import { parseKeylog } from '../../src/util/keylog.ts';
import { isRoot, peerMissing, which } from '../support/peers.ts';
import { runBench } from './run-harness.ts';

const skip = peerMissing(isRoot(), 'root (the run shapes the network)') || peerMissing(!!which('tshark'), 'tshark (apt-get install tshark), the independent decryption');

const REQUESTS = 30;
const SIZE = 20_000;
const ROUNDS = 2;
const RTT_MS = 100;
/** How late the client may read bytes the link delivered (a loaded machine), for the checks against its chunk times. */
const SLACK_MS = 20;

describe.skipIf(skip)('exact head-of-line blocking from a capture', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-exact-hol-e2e-'));
  const out = path.join(tmp, 'run');
  let run: { code: number; stderr: string };
  let result: RunResult;

  beforeAll(async () => {
    const scenario = path.join(tmp, 'hol.yaml');
    writeFileSync(
      scenario,
      [
        'name: exact-hol-e2e',
        'protocols: [h2, h3]',
        'repetitions: 1',
        'seed: 5',
        'network:',
        '  backend: userspace',
        `  link: {delay: ${RTT_MS / 2}ms, loss: 2%}`,
        'workloads:',
        `  - {type: multiplex, name: hol, requests: ${REQUESTS}, sizes: [${SIZE}], rounds: ${ROUNDS}, reference: false}`,
        'timeouts: {request: 30s, cell: 3m}',
        '',
      ].join('\n'),
    );
    run = await runBench(['run', scenario, '--capture'], out, 300_000);
    if (existsSync(path.join(out, 'result.json'))) result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
  }, 320_000);
  afterAll(() => process.env.KEEP_CAPTURE || rmSync(tmp, { recursive: true, force: true }));

  const multiplex = (protocol: string) => result.cells.find((c) => c.protocol === protocol)!.details!.multiplex!;
  const exact = (protocol: string) => multiplex(protocol).exactHol as ExactHol;

  it('writes exact figures per loss event for both protocols, every hole traced to a drop', () => {
    expect(run.code, run.stderr).toBe(0);
    for (const protocol of ['h2', 'h3']) {
      const m = multiplex(protocol);
      expect(m.exactHol, protocol).not.toHaveProperty('unavailable');
      expect(exact(protocol).perLoss).toHaveLength(m.lossEvents);
      expect(m.lossEventAt).toHaveLength(m.lossEvents);
      // The link neither reorders nor jitters here: a hole is always a lost packet.
      expect(exact(protocol).unexplained).toBe(0);
      const { perLoss, blockedIntervals, outsideLossEvents } = exact(protocol);
      expect(perLoss.reduce((s, e) => s + e.blocked, 0) + outsideLossEvents!).toBe(blockedIntervals);
    }
    expect(exact('h3')).toMatchObject({ source: 'decrypted capture', scope: 'stream' });
    expect(exact('h2')).toMatchObject({ source: 'TCP sequence numbers in the capture', scope: 'connection' });
    expect(multiplex('h3').lossEvents + multiplex('h2').lossEvents).toBeGreaterThan(0);
  });

  it('h3: every request stream decrypts to the response size, in one cipher suite, no packet left unopened', () => {
    const check = exact('h3').check!;
    expect(check.connections).toBe(ROUNDS);
    expect(check.packetsNotOpened).toBe(0);
    expect(check.cipherSuites).toHaveLength(1);
    expect(check.streamBodyBytes).toEqual(Array.from({ length: ROUNDS }, () => Array<number>(REQUESTS).fill(SIZE)));
  });

  it('h3: a blocked stream is one whose bytes the event lost, and one the client saw waiting', () => {
    const m = multiplex('h3');
    exact('h3').perLoss.forEach((e, i) => {
      // Blocked by an event means the event's lost packets carried the stream's bytes.
      expect(e.blocked).toBeLessThanOrEqual(e.hit!);
      if (m.lossEventAt![i]!.dir === 'up') expect(e.blocked).toBe(0);
      e.requests!.forEach((request, k) => {
        // Held behind a hole for over half an RTT, from within 2 RTT of the loss (20 ms more for the
        // client reading the bytes below the hole late on a busy machine): its chunks show it got nothing that long.
        if (e.blockedMs[k]! > RTT_MS / 2 + SLACK_MS && e.blockedFromMs[k]! < 2 * RTT_MS) expect(m.waitedRequestsPerLoss![i], `loss event ${i}, request ${request}`).toContain(request);
      });
    });
  });

  it('h2: a blocked connection is one the delivery log saw delivering while its streams waited', () => {
    const m = multiplex('h2');
    exact('h2').perLoss.forEach((e, i) => {
      expect(e.blocked).toBeLessThanOrEqual(1);
      if (e.blocked && e.blockedMs[0]! > RTT_MS / 2 + SLACK_MS && e.blockedFromMs[0]! < 2 * RTT_MS) expect(m.waitedRequestsPerLoss![i]!.length, `loss event ${i}`).toBeGreaterThan(0);
    });
  });

  it('h3: tshark decrypts the same packet numbers with the same key log', () => {
    const file = path.join(out, result.cells.find((c) => c.protocol === 'h3')!.capture!.file);
    const keys = path.join(out, 'keys.log');
    const mine = new Map(
      decryptQuicConnections(linkPackets(readPcapng(readFileSync(file))), parseKeylog(readFileSync(keys, 'utf8'))).flatMap((c) => c.packets.map((p) => [p.frame, p.packetNumber] as const)),
    );
    const fields = execFileSync('tshark', ['-r', file, '-o', `tls.keylog_file:${keys}`, '-Y', 'quic.short', '-T', 'fields', '-e', 'frame.number', '-e', 'quic.packet_number', '-e', 'quic.frame_type'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 << 20,
    });
    const lines = fields.trim().split('\n').map((l) => l.split('\t'));
    // tshark decodes packet numbers against the largest it saw in the whole file, and the file has
    // every packet twice (received, then delivered 50 ms later): it misreads some delivered copies
    // by 256 and then fails to decrypt them. Where it decrypted (frames shown), it must agree.
    const decrypted = lines.filter(([, , types]) => types);
    expect(decrypted.length).toBeGreaterThan(0.8 * lines.length);
    const differ = decrypted.filter(([frame, pns]) => mine.get(Number(frame)) !== Number(pns!.split(',').at(-1)));
    expect(differ).toEqual([]);
  });

  it('the report shows the exact figures and their source', () => {
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('data-exact-hol="stream"');
    expect(html).toContain('data-exact-hol="connection"');
    expect(html).toContain('decrypted capture');
    expect(html).not.toContain('exact form unavailable');
  });
});
