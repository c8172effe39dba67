/**
 * quiche's pacer, seen through binding.releaseTimeMs: two connections wired back to back in
 * memory (no sockets, no timers). After the handshake, a large write leaves as packets whose
 * release times spread out instead of all being "now".
 */
import { describe, expect, it } from 'vitest';
import { acceptNative, connectNative, releaseTimeMs, type NativeConnection } from '../../src/quic/binding.ts';
import { buildNativeConfig, type QuicPacing } from '../../src/quic/config.ts';
import { SendDatingCounter } from '../../src/quic/stats.ts';
import { monoMs } from '../../src/util/clock.ts';
import { testCert } from './helpers.ts';

const clientAddr = { host: '127.0.0.1', port: 40000 };
const serverAddr = { host: '127.0.0.1', port: 40001 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds what `from` has to send and hands it to `to` after `delayMs`: one way of the path. */
async function carry(from: NativeConnection, to: NativeConnection, delayMs: number, fromAddr = clientAddr, toAddr = serverAddr): Promise<void> {
  const buf = new Uint8Array(1500);
  const packets: Uint8Array[] = [];
  for (let r = from.send(buf); r; r = from.send(buf)) packets.push(buf.slice(0, r[0]));
  if (delayMs > 0) await sleep(delayMs);
  for (const p of packets) to.recv(p, { from: fromAddr, to: toAddr });
}

/** A client and server connection, handshake done and one RTT sample taken, over a path of `oneWayMs` each way. */
async function establishedPair(oneWayMs = 0, pacing: QuicPacing = 'quiche'): Promise<{ c: NativeConnection; s: NativeConnection }> {
  const cert = await testCert();
  const server = buildNativeConfig({ alpn: ['x'], certPem: cert.certPem, keyPem: cert.keyPem, pacing }, 'server');
  const client = buildNativeConfig({ alpn: ['x'], verifyPeer: false, pacing }, 'client');
  const c = connectNative('localhost', new Uint8Array(20).fill(1), clientAddr, serverAddr, client);
  const buf = new Uint8Array(1500);
  const first = c.send(buf)!;
  const s = acceptNative(new Uint8Array(20).fill(2), undefined, serverAddr, clientAddr, server);
  if (oneWayMs > 0) await sleep(oneWayMs);
  s.recv(buf.subarray(0, first[0]), { from: clientAddr, to: serverAddr });
  for (let i = 0; i < 10 && !(c.isEstablished() && s.isEstablished()); i++) {
    await carry(s, c, oneWayMs, serverAddr, clientAddr);
    await carry(c, s, oneWayMs);
  }
  expect(c.isEstablished() && s.isEstablished()).toBe(true);
  // Let an RTT sample exist so the pacer has a rate: one request/ack exchange.
  c.streamSend(0, Buffer.from('x'), true);
  await carry(c, s, oneWayMs);
  await carry(s, c, oneWayMs, serverAddr, clientAddr);
  await carry(c, s, oneWayMs);
  return { c, s };
}

describe('pacing release times', () => {
  it('spreads a burst beyond the initial window over time', async () => {
    const { s } = await establishedPair();
    const buf = new Uint8Array(1500);
    s.streamSend(1, new Uint8Array(200_000), true);
    const times: number[] = [];
    const now = monoMs();
    for (let r = s.send(buf); r; r = s.send(buf)) times.push(releaseTimeMs(r[1])!);
    expect(times.length).toBeGreaterThan(5);
    for (const t of times) expect(Math.abs(t - now)).toBeLessThan(5_000);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(times[times.length - 1]!).toBeGreaterThan(times[0]!);
    console.log(`pacing: ${times.length} packets released over ${(times[times.length - 1]! - times[0]!).toFixed(3)} ms`);
  });
});

/**
 * The send loop stops building when its release queue reaches a few ms ahead, with the window not
 * full. quiche then counts the connection as application-limited and cubic ignores the next ACKs,
 * unless the loop declares itself pacing-limited with a send() into a buffer too small for a
 * packet (connection.ts). Both halves are quiche's behaviour, checked here on real connections.
 */
describe('pacing-limited, not application-limited', () => {
  const cwnd = (conn: NativeConnection) => conn.pathStats()[0]!.cwnd;

  async function windowGrowthAfterPartialFlight(declarePacingLimited: boolean) {
    const { c, s } = await establishedPair();
    s.streamSend(1, new Uint8Array(200_000), true);
    const buf = new Uint8Array(1500);
    const before = cwnd(s);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      const r = s.send(buf)!;
      sent.push(buf.slice(0, r[0]));
    }
    let probe: unknown = 'not called';
    if (declarePacingLimited) probe = s.send(new Uint8Array(21));
    for (const p of sent) c.recv(p, { from: serverAddr, to: clientAddr });
    const acks = new Uint8Array(1500);
    for (let r = c.send(acks); r; r = c.send(acks)) s.recv(acks.subarray(0, r[0]), { from: clientAddr, to: serverAddr });
    return { before, after: cwnd(s), probe };
  }

  it('a partial flight leaves the window where it was (quiche: application-limited)', async () => {
    const { before, after } = await windowGrowthAfterPartialFlight(false);
    expect(after).toBe(before);
  });

  it('declaring pacing-limited builds no packet and lets slow start grow the window by the bytes acknowledged', async () => {
    const { before, after, probe } = await windowGrowthAfterPartialFlight(true);
    expect(probe).toBeNull();
    expect(after).toBeGreaterThanOrEqual(before + 3 * 1200);
  });
});

/**
 * quiche 0.18 records a packet's sent time as its pacer's release time (SendInfo.at) and measures
 * RTT samples from it. For a sender of small packets, such as an HTTP/3 client sending window
 * updates, that time stays behind: a bucket that never fills keeps the time of its last reset, so
 * the packets are dated well before they were built and the RTT reads high (stats.ts:
 * SendDating). Shown here on real connections with a 100 ms round trip, against the clock.
 */
describe('quiche dates a small-packet sender\'s packets before they were built', () => {
  it('backdates packets sent a few ms apart by tens of ms, and counts them', async () => {
    // A 100 ms round trip: each direction's packets are handed over 50 ms after they were built.
    const { c } = await establishedPair(50);
    const buf = new Uint8Array(1500);
    expect(c.isEstablished()).toBe(true);
    expect(c.pathStats()[0]!.rtt).toBeGreaterThanOrEqual(90);

    // 40 small packets of one size, 5 ms apart, never acknowledged meanwhile.
    const dating = new SendDatingCounter();
    const earlyMs: number[] = [];
    for (let i = 0; i < 40; i++) {
      c.streamSend(4 * (i + 1), Buffer.from('ab'), false);
      for (let r = c.send(buf); r; r = c.send(buf)) {
        const early = monoMs() - releaseTimeMs(r[1])!;
        earlyMs.push(early);
        dating.record(early);
      }
      await sleep(5);
    }
    const worst = Math.max(...earlyMs);
    console.log(`dating: ${dating.value.backdated} of ${dating.value.packets} packets backdated, mean ${dating.value.backdatedMeanMs.toFixed(1)} ms, max ${worst.toFixed(1)} ms`);
    // Built up to 200 ms after the first; dated as if sent tens of ms earlier than they were.
    expect(worst).toBeGreaterThan(30);
    expect(dating.value.backdated).toBeGreaterThan(earlyMs.length / 2);
    expect(dating.value.backdatedMaxMs).toBeCloseTo(worst, 6);
  });

  it('dates them early with its pacer disabled too (quiche still dates by its pacer clock)', async () => {
    // quiche 0.18 keeps the pacer's clock running with pacing off: every packet counts 0 bytes, so
    // the release time moves only after an idle gap of quantum / rate (recovery/pacer.rs).
    const { c } = await establishedPair(50, 'off');
    const buf = new Uint8Array(1500);
    const dating = new SendDatingCounter();
    for (let i = 0; i < 40; i++) {
      c.streamSend(4 * (i + 1), Buffer.from('ab'), false);
      for (let r = c.send(buf); r; r = c.send(buf)) dating.record(monoMs() - releaseTimeMs(r[1])!);
      await sleep(5);
    }
    console.log(`dating, quiche's pacer off: ${dating.value.backdated} of ${dating.value.packets} packets backdated, max ${dating.value.backdatedMaxMs.toFixed(1)} ms`);
    expect(dating.value.backdated).toBeGreaterThan(dating.value.packets / 2);
    expect(dating.value.backdatedMaxMs).toBeGreaterThan(30);
  });
});
