/**
 * `bench run --capture` end to end: a short run at 2% loss with a certificate chain, then tshark
 * (an independent reader) opens each cell's pcapng with the run's keys.log: it decrypts HTTP/1.1,
 * HTTP/2 and HTTP/3, reads the chain the servers sent, and finds exactly the drops raw.jsonl lists
 * for that cell marked on the packets. And --capture is refused where no link records packets.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRawJsonl } from '../../src/results/raw.ts';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing, which } from '../support/peers.ts';
import { runBench } from './run-harness.ts';

const skip = peerMissing(isRoot(), 'root (the run shapes the network)') || peerMissing(!!which('tshark'), 'tshark (apt-get install tshark), to read the captures');

const tshark = (...args: string[]) => execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
const count = (out: string) => out.split('\n').filter((l) => l.trim() !== '').length;

describe.skipIf(skip)('bench run --capture', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-capture-e2e-'));
  const out = path.join(tmp, 'run');
  let run: { code: number; stderr: string };
  let result: RunResult;

  beforeAll(async () => {
    const scenario = path.join(tmp, 'capture.yaml');
    writeFileSync(
      scenario,
      [
        'name: capture-e2e',
        'protocols: [h1, h2, h3]',
        'repetitions: 1',
        'seed: 3',
        'network:',
        '  link: {delay: 10ms, loss: 2%}',
        'tls: {key: rsa-2048, intermediates: 2}',
        'workloads:',
        '  - {type: requests, name: fetch, requests: 60, concurrency: 6, size: 20KB}',
        'timeouts: {request: 20s, cell: 2m}',
        '',
      ].join('\n'),
    );
    run = await runBench(['run', scenario, '--capture'], out, 240_000);
    if (existsSync(path.join(out, 'result.json'))) result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
  }, 300_000);
  afterAll(() => process.env.KEEP_CAPTURE || rmSync(tmp, { recursive: true, force: true }));

  it('writes one pcapng per cell and the key log, and names them', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(result.cells).toHaveLength(3);
    for (const cell of result.cells) {
      expect(cell.capture?.file).toBe(`captures/custom-${cell.protocol}-fetch-rep0.pcapng`);
      expect(existsSync(path.join(out, cell.capture!.file))).toBe(true);
    }
    expect(existsSync(path.join(out, 'keys.log'))).toBe(true);
    expect(run.stderr).toContain('keys.log');
  });

  const keys = () => ['-o', `tls.keylog_file:${path.join(out, 'keys.log')}`];
  const file = (protocol: string) => path.join(out, `captures/custom-${protocol}-fetch-rep0.pcapng`);

  /** Every value of a field in the capture (tshark prints a packet's several values comma-separated). */
  const values = (protocol: string, field: string, withKeys = true, filter = field) =>
    tshark('-r', file(protocol), ...(withKeys ? keys() : []), '-Y', filter, '-T', 'fields', '-e', field)
      .split(/[\n,]/)
      .filter((v) => v.trim() !== '');

  it.each([
    // HTTP/1.1 and HTTP/2 over TCP: tshark's reassembly shows a request once, though it crossed both interfaces.
    ['h1', 'http.request.method', 'GET', 'http.response.code', /^200$/, ''],
    ['h2', 'http2.headers.method', 'GET', 'http2.type', /^0$/, ''],
    // HTTP/3 frames are dissected per packet: count the client's requests (HEADERS) as the link
    // received them, and the response bodies as the server's STREAM frames (types 0x08-0x0f).
    ['h3', 'http3.frame_type', '1', 'quic.frame_type', /^(8|9|1[0-5])$/, ' && frame.interface_name == "primary received" && ip.dst == 198.18.0.1'],
  ])('%s: tshark decrypts it with keys.log (%s)', (protocol, requestField, request, responseField, response, where) => {
    // The key log has the secrets of every connection in the capture (by its ClientHello random).
    const randoms = new Set(values(protocol, 'tls.handshake.random', false, 'tls.handshake.type == 1'));
    const logged = new Set(readFileSync(path.join(out, 'keys.log'), 'utf8').split('\n').map((l) => l.split(' ')[1]));
    expect(randoms.size).toBeGreaterThan(0);
    expect([...randoms].filter((r) => !logged.has(r))).toEqual([]);
    expect(values(protocol, requestField, true, requestField + where).filter((v) => v === request).length).toBeGreaterThanOrEqual(60);
    // Responses: 20 KB bodies, as DATA frames (h2), STREAM frames (h3) or status lines (h1). Under
    // loss tshark does not always reassemble a TCP stream whose segments it sees twice (received and
    // delivered) and retransmitted with other boundaries, so not every response need show.
    expect(values(protocol, responseField).filter((v) => response.test(v)).length).toBeGreaterThanOrEqual(30);
    // Without the keys nothing is readable: the decryption is the key log's doing.
    expect(values(protocol, requestField, false)).toEqual([]);
  });

  it.each(['h1', 'h2', 'h3'])('%s: the Certificate message carries the leaf and both intermediates', (protocol) => {
    const lengths = tshark('-r', file(protocol), ...keys(), '-Y', 'tls.handshake.type == 11', '-T', 'fields', '-e', 'tls.handshake.certificate_length').trim().split('\n')[0]!;
    expect(lengths.split(',').map(Number)).toEqual(result.environment.certificate!.certificateBytes);
  });

  it.each(['h1', 'h2', 'h3'])('%s: the packets marked dropped are the drops raw.jsonl lists for the cell', (protocol) => {
    const raw = parseRawJsonl(readFileSync(path.join(out, 'raw.jsonl'), 'utf8')).list.filter((e) => e.type === 'drop' && e.protocol === protocol);
    const cell = result.cells.find((c) => c.protocol === protocol)!;
    const marked = tshark('-r', file(protocol), '-Y', 'frame.comment contains "dropped by the link"', '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.comment');
    expect(raw.length).toBeGreaterThan(0);
    expect(count(marked)).toBe(raw.length);
    expect(cell.capture!.dropped).toBe(raw.length);
    for (const line of marked.trim().split('\n')) expect(line).toBe('primary received\tdropped by the link: loss');
    // Every packet the link wrote is on the delivered interface, every packet it read on the received one.
    expect(count(tshark('-r', file(protocol), '-Y', 'frame.interface_name == "primary delivered"'))).toBe(cell.capture!.delivered);
    expect(count(tshark('-r', file(protocol), '-Y', 'frame.interface_name == "primary received"'))).toBe(cell.capture!.received);
  });
});

describe('bench run --capture where no link records packets', () => {
  it.each([
    ['network: none', 'network: none', /network: --capture records the packets the link carries/],
    ['the kernel backend', 'network: {backend: kernel, link: {delay: 5ms}}', /network\.backend: --capture needs the userspace backend/],
  ])('%s: exit 2, naming the option and the line, nothing started', async (_what, network, expected) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-capture-refused-'));
    try {
      const scenario = path.join(tmp, 'refused.yaml');
      writeFileSync(scenario, `name: refused\n${network}\nworkloads: [{type: requests}]\n`);
      const out = path.join(tmp, 'run');
      const run = await runBench(['run', scenario, '--capture'], out, 60_000);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr).toContain(`${scenario}:2:`);
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
