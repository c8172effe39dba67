/**
 * Whose delay is it, the client's or the server's? A real HTTP/3 client (headless Chromium, in
 * the client namespace) fetches 100 x 10 KB at once over one HTTP/3 connection, behind the shaped
 * link bench runs use (50 ms each way, no loss), from bench's own HTTP/3 server and from Caddy's
 * (quic-go), both running in the server namespace; loads alternate between the two, each in a
 * fresh browser (fresh connection, no resumption). Then bench's own client does the same workload
 * (`bench run`, multiplex, 100 x 10 KB per round) against both servers.
 *
 *   Chromium -> ours  vs  Chromium -> Caddy   slower with ours: the delay is our server's
 *   ours -> Caddy     vs  Chromium -> Caddy   slower with ours: the delay is our client's
 *
 * Per load, from Chromium itself: the time of the 100 fetches (performance.now in the page; every
 * Resource Timing entry must say h3), its QUIC session's smoothed and minimum RTT (the histograms
 * Net.QuicSession.SmoothedRTT / MinRTT that Chromium records when a session closes, read over CDP),
 * and from its net log the session's lost packets (QUIC_SESSION_PACKET_LOST) and an RTT estimate
 * re-derived from QUIC_SESSION_PACKET_SENT and QUIC_SESSION_ACK_FRAME_RECEIVED (see netlog.ts).
 *
 *   node --import tsx test/perf/chromium.ts [--loads 5] [--no-bench-client] [--netlog-dir DIR] [--json]
 * Needs root (namespaces), Debian's chromium and caddy.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { DIRECTION_DEFAULTS, type NetworkSpec } from '../../netem/model.ts';
import { createShapedTopology, installTeardownHandlers, type ShapedTopology } from '../../netem/index.ts';
import { median } from '../../src/metrics/stats.ts';
import { startServerFromCommand, startServerProcess, type ServerHandle } from '../../src/runner/server-handle.ts';
import { siteRoutes } from '../../src/runner/site.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { pageWorkload, type PageSpec } from '../../src/workloads/page.ts';
import type { MultiplexSpec } from '../../src/workloads/multiplex.ts';
import { CHROMIUM_BASE_ARGS } from '../support/browser.ts';
import { CHROMIUM_PATH, isRoot, which } from '../support/peers.ts';
import { CADDY_SERVERS, CADDYFILE, multiplexScenario, ROOT, runBench } from './bench-runs.ts';
import { quicSessionFromNetLog, type NetLogQuicSession } from './netlog.ts';

const ONE_WAY_DELAY_MS = 50;
const PATH_RTT_MS = 2 * ONE_WAY_DELAY_MS;
const FETCHES = 100;
const FETCH_BYTES = 10_000;
/** Our server listens here; Caddy on the command server's default port inside the namespace (8443). */
const OUR_PORT = 9443;
const LOAD_TIMEOUT_MS = 60_000;

type ServerName = 'ours' | 'caddy';
const SERVER_LABEL: Record<ServerName, string> = { ours: "bench's HTTP/3 server (quiche)", caddy: "Caddy's HTTP/3 (quic-go)" };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** What Chromium saw in one load. */
interface ChromiumLoad {
  server: ServerName;
  /** From the first fetch() to the last body read, in the page. */
  fetchMs: number;
  /** nextHopProtocol of the fetches' Resource Timing entries. */
  protocols: string[];
  bodyBytes: number;
  /** Chromium's own figures for the session, recorded when it closed (histograms; undefined when absent). */
  sessionSrttMs?: number;
  sessionMinRttMs?: number;
  retransmitsPerMille?: number;
  /** Sessions the histograms summarise (1 = the figures are that session's own). */
  histogramSessions: number;
  netlog: NetLogQuicSession;
  /** From the first fetch's request leaving Chromium to the last one's (its net log): the client's own spread. */
  requestsSentOverMs?: number;
  /** Our server only: its data sender's view of the same connection. */
  serverSender?: { srttMs?: number; lostPackets: number; sentPackets: number };
}

/** The page side of a load: 100 fetches at once, timed, with their Resource Timing protocol. */
async function fetchAll(browser: Browser, url: string): Promise<{ fetchMs: number; protocols: string[]; bodyBytes: number; count: number }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // Quiet for 500 ms: the document's stream and the favicon's are closed, and the server has
    // given their stream credit back (quic-go allows 100 at a time), as on the fresh connection of
    // bench's client, whose 100 requests never wait for MAX_STREAMS either.
    await page.goto(url, { waitUntil: 'networkidle', timeout: LOAD_TIMEOUT_MS });
    return await page.evaluate(
      async ({ n, bytes }) => {
        performance.clearResourceTimings();
        const t0 = performance.now();
        const sizes = await Promise.all(
          Array.from({ length: n }, async (_, i) => {
            // A fresh profile per load: nothing is cached (and both servers say no-store).
            const r = await fetch(`/bytes/${bytes}?i=${i}`);
            if (!r.ok) throw new Error(`/bytes/${bytes}?i=${i}: status ${r.status}`);
            return (await r.arrayBuffer()).byteLength;
          }),
        );
        const fetchMs = performance.now() - t0;
        // Runs in the page: resource entries carry nextHopProtocol.
        const entries = (performance.getEntriesByType('resource') as unknown as Array<{ name: string; nextHopProtocol: string }>).filter((e) => e.name.includes('/bytes/'));
        return { fetchMs, protocols: [...new Set(entries.map((e) => e.nextHopProtocol))], bodyBytes: sizes.reduce((a, b) => a + b, 0), count: entries.length };
      },
      { n: FETCHES, bytes: FETCH_BYTES },
    );
  } finally {
    // Closing the context closes its network context, and with it the QUIC session: its histograms get recorded.
    await context.close();
  }
}

/** A script that starts Debian's chromium in the client namespace (playwright starts it with its pipes). */
function chromiumInNamespace(topology: ShapedTopology, dir: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const file = path.join(dir, 'chromium-in-client-namespace.sh');
  writeFileSync(file, `#!/bin/sh\nexec ${[...topology.commandPrefix('client'), CHROMIUM_PATH!].map(quote).join(' ')} "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

async function chromiumLoad(opts: {
  server: ServerName;
  port: number;
  documentPath: string;
  topology: ShapedTopology;
  cert: GeneratedCertificate;
  executable: string;
  dir: string;
  load: number;
  ours?: ServerHandle;
  /** Keep the net logs here (default: removed once read). */
  netlogDir?: string;
}): Promise<ChromiumLoad> {
  const netlogFile = path.join(opts.netlogDir ?? opts.dir, `netlog-${opts.server}-${opts.load < 0 ? 'warm-up' : opts.load + 1}.json`);
  await opts.ours?.quicSenderStats?.(); // earlier connections' figures: not this load's
  const browser = await chromium.launch({
    executablePath: opts.executable,
    headless: true,
    args: [
      ...CHROMIUM_BASE_ARGS,
      `--origin-to-force-quic-on=localhost:${opts.port}`,
      `--ignore-certificate-errors-spki-list=${opts.cert.spkiSha256Base64}`,
      `--host-resolver-rules=MAP localhost ${opts.topology.serverAddress}`,
      `--log-net-log=${netlogFile}`,
      '--net-log-capture-mode=Everything',
      // The network service in the browser process (as on Android), so that CDP's Browser.getHistograms
      // sees the QUIC session's histograms; out of process they stay in the network service's process.
      '--enable-features=NetworkServiceInProcess2',
    ],
  });
  let page: Awaited<ReturnType<typeof fetchAll>>;
  let histograms: Map<string, { count: number; sum: number }>;
  try {
    page = await withTimeout(fetchAll(browser, `https://localhost:${opts.port}${opts.documentPath}`), LOAD_TIMEOUT_MS, `chromium load from ${opts.server}`);
    histograms = await sessionHistograms(browser);
  } finally {
    await browser.close(); // writes the end of the net log
  }
  if (page.count !== FETCHES || page.bodyBytes !== FETCHES * FETCH_BYTES || page.protocols.join() !== 'h3') {
    throw new Error(
      `chromium load from ${opts.server}: ${page.count} Resource Timing entries (${page.protocols.join(', ')}) and ${page.bodyBytes} body bytes, expected ${FETCHES} over h3 and ${FETCHES * FETCH_BYTES}`,
    );
  }
  // A histogram with one sample: its sum is that sample (UMA times are whole ms).
  const single = (name: string) => {
    const h = histograms.get(name);
    return h && h.count > 0 ? h.sum / h.count : undefined;
  };
  const load: ChromiumLoad = {
    server: opts.server,
    fetchMs: page.fetchMs,
    protocols: page.protocols,
    bodyBytes: page.bodyBytes,
    sessionSrttMs: single('Net.QuicSession.SmoothedRTT'),
    sessionMinRttMs: single('Net.QuicSession.MinRTT'),
    retransmitsPerMille: single('Net.QuicSession.PacketRetransmitsPerMille'),
    histogramSessions: histograms.get('Net.QuicSession.SmoothedRTT')?.count ?? 0,
    netlog: quicSessionFromNetLog(readFileSync(netlogFile, 'utf8'), { host: 'localhost', port: opts.port }),
  };
  // The fetches are the session's last request streams (the document and the favicon came first).
  const fetchStreams = load.netlog.requestStreamsSentMs.slice(-FETCHES);
  if (fetchStreams.length === FETCHES) load.requestsSentOverMs = fetchStreams.at(-1)! - fetchStreams[0]!;
  if (!opts.netlogDir) rmSync(netlogFile, { force: true });
  if (opts.ours?.quicSenderStats) {
    // The server records a connection when it closes: Chromium's CONNECTION_CLOSE is one path delay away.
    await new Promise((r) => setTimeout(r, 2 * PATH_RTT_MS));
    const conns = await opts.ours.quicSenderStats();
    if (conns.length === 1) load.serverSender = { srttMs: conns[0]!.srttMs, lostPackets: conns[0]!.lostPackets, sentPackets: conns[0]!.sentPackets };
  }
  return load;
}

/**
 * Chromium's Net.QuicSession.* histograms, once the closed session has recorded them (it does so
 * when it is destroyed, shortly after its context closed).
 */
async function sessionHistograms(browser: Browser): Promise<Map<string, { count: number; sum: number }>> {
  const cdp = await browser.newBrowserCDPSession();
  const deadline = Date.now() + 5000;
  for (;;) {
    const reply = (await cdp.send('Browser.getHistograms', { query: 'Net.QuicSession.' })) as { histograms: Array<{ name: string; count: number; sum: number }> };
    const byName = new Map(reply.histograms.map((h) => [h.name, h]));
    if ((byName.get('Net.QuicSession.SmoothedRTT')?.count ?? 0) > 0 || Date.now() > deadline) return byName;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Until Caddy's UDP port is bound in the server namespace (quic-go serves from the moment it is). */
async function waitForUdpListener(topology: ShapedTopology, port: number, caddy: ServerHandle): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [cmd, ...args] = [...topology.commandPrefix('server'), 'ss', '-Hlun', `sport = :${port}`];
    if (spawnSync(cmd!, args, { encoding: 'utf8' }).stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`caddy did not bind UDP ${port} within 20 s:\n${caddy.outputTail?.() ?? ''}`);
}

async function measureChromium(loads: number, dir: string, netlogDir: string | undefined): Promise<ChromiumLoad[]> {
  const spec: Extract<NetworkSpec, { kind: 'shaped' }> = {
    kind: 'shaped',
    backend: 'auto',
    mtu: 1500,
    congestionControl: 'cubic',
    paths: [{ name: 'primary', up: { ...DIRECTION_DEFAULTS, delayMs: ONE_WAY_DELAY_MS }, down: { ...DIRECTION_DEFAULTS, delayMs: ONE_WAY_DELAY_MS } }],
    phases: [],
  };
  const topology = await createShapedTopology(spec, { runId: `perf-chromium-${randomBytes(3).toString('hex')}` });
  let ours: ServerHandle | undefined;
  let caddy: ServerHandle | undefined;
  try {
    const cert = await generateCertificate({});
    const prefix = topology.commandPrefix('server');
    const host = topology.serverAddress;
    ours = await startServerProcess({ prefix, host, protocols: ['h3'], cert, congestionControl: 'cubic', ports: { h3: OUR_PORT } });
    // The document the fetches run from: an HTML page without subresources, which both servers have.
    const documentPage: PageSpec = { type: 'page', name: 'document', resources: 0, depth: 1, sizes: { html: 1000, resource: 0 }, loads: 1, h1PoolSize: 6 };
    const fetches: MultiplexSpec = { type: 'multiplex', name: 'fetches', requests: FETCHES, sizes: [FETCH_BYTES], rounds: 1, reference: false, h1PoolSize: 6 };
    caddy = await startServerFromCommand({
      spec: { kind: 'command', command: 'caddy run --config {{config}} --adapter caddyfile', config: CADDYFILE, ports: {}, version: 'caddy version', startTimeoutMs: 20_000, cwd: ROOT },
      protocols: ['h3'],
      prefix,
      host,
      cert,
      routes: siteRoutes([documentPage, fetches]),
      logFile: path.join(dir, 'caddy.log'),
      label: `${PATH_RTT_MS} ms RTT`,
    });
    const ports: Record<ServerName, number> = { ours: ours.targets.h3!.port, caddy: caddy.targets.h3!.port };
    await waitForUdpListener(topology, ports.caddy, caddy);
    const executable = chromiumInNamespace(topology, dir);
    const common = { documentPath: pageWorkload.paths(documentPage)[0]!, topology, cert, executable, dir, netlogDir };
    const out: ChromiumLoad[] = [];
    // Load -1 is an unmeasured warm-up of each server (JIT, Caddy's first TLS handshakes); then the
    // servers alternate, so the machine's drift falls on both.
    for (let load = -1; load < loads; load++) {
      for (const server of ['ours', 'caddy'] as const) {
        const r = await chromiumLoad({ ...common, server, port: ports[server], load, ours: server === 'ours' ? ours : undefined });
        if (load >= 0) out.push(r);
        console.error(`chromium ${load < 0 ? 'warm-up' : `load ${load + 1}/${loads}`} ${server}: ${r.fetchMs.toFixed(0)} ms, ${r.protocols.join(',')}, requests over ${r.requestsSentOverMs ?? '?'} ms, srtt ${r.sessionSrttMs ?? '?'} ms, lost ${r.netlog.lostPackets}`);
      }
    }
    return out;
  } finally {
    await caddy?.stop().catch((e) => console.error(`stopping caddy: ${String(e)}`));
    await ours?.stop().catch((e) => console.error(`stopping our server: ${String(e)}`));
    await topology.teardown();
  }
}

/** bench's own client, same workload: `bench run` with the multiplex workload, one round per load. */
interface BenchClientRun {
  server: ServerName;
  /** Per round: from the first request to the last response. */
  roundMs: number[];
  /** Per round: from the first request's headers written to the last one's. */
  requestsSentOverMs: number[];
  /** quiche's smoothed RTT at the end of each round. */
  srttMs: number[];
  lostPackets: number;
}

function runBenchClient(dir: string, server: ServerName, rounds: number): BenchClientRun {
  const yaml = multiplexScenario({
    name: `chromium-reference-${server}`,
    description: `${FETCHES} x 10 KB on one HTTP/3 connection behind a loss-free ${PATH_RTT_MS} ms path (npm run perf -- chromium)`,
    protocols: ['h3'],
    repetitions: 1,
    oneWayDelayMs: ONE_WAY_DELAY_MS,
    requests: FETCHES,
    size: String(FETCH_BYTES),
    rounds,
    servers: server === 'caddy' ? CADDY_SERVERS : undefined,
  });
  const { result, outDir } = runBench(dir, `bench-client-${server}`, yaml);
  const cells = result.cells.filter((c) => c.protocol === 'h3' && !c.error);
  // Each round is one connection: its requests' first queued to last done.
  const byConnection = new Map<string, { start: number; end: number; firstSent: number; lastSent: number }>();
  for (const line of readFileSync(path.join(outDir, 'raw.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as { type: string; workload?: string; connectionId?: string; queued: number; sent?: number; done: number; phase?: string };
    if (e.type !== 'request' || e.workload !== 'multiplex' || e.phase !== undefined || e.connectionId === undefined) continue;
    const round = byConnection.get(e.connectionId) ?? { start: Infinity, end: -Infinity, firstSent: Infinity, lastSent: -Infinity };
    const sent = e.sent ?? e.queued;
    byConnection.set(e.connectionId, {
      start: Math.min(round.start, e.queued),
      end: Math.max(round.end, e.done),
      firstSent: Math.min(round.firstSent, sent),
      lastSent: Math.max(round.lastSent, sent),
    });
  }
  const transport = cells.flatMap((c) => c.details?.multiplex?.transportPerConnection ?? []);
  return {
    server,
    roundMs: [...byConnection.values()].map((r) => r.end - r.start),
    requestsSentOverMs: [...byConnection.values()].map((r) => r.lastSent - r.firstSent),
    srttMs: transport.map((t) => t.rttMs).filter((v): v is number => v !== undefined),
    lostPackets: transport.reduce((a, t) => a + (t.lostPackets ?? 0), 0),
  };
}

/**
 * Round trips slow start needs to deliver `bytes` from an initial window of `packets` full packets,
 * doubling each round trip (no loss, no pacing or ack-clocking effects): why quic-go's 32-packet
 * initial window finishes earlier than quiche's 10 on the same path, whatever the protocol.
 */
function slowStartRoundTrips(bytes: number, packets: number, packetBytes: number): number {
  return Math.ceil(Math.log2(bytes / (packets * packetBytes) + 1));
}

interface ServerSummary {
  server: ServerName;
  label: string;
  chromium: {
    loads: number;
    fetchMsMedian: number;
    fetchMs: number[];
    srttMsMedian?: number;
    minRttMsMedian?: number;
    lostPackets: number;
    lostByLevel: Record<string, number>;
    streamsBlocked: number;
    retransmitsPerMilleMedian?: number;
    netlogSrttMsMedian?: number;
    netlogMinRttMs?: number;
    requestsSentOverMsMedian?: number;
    serverSenderSrttMsMedian?: number;
    serverSenderLostPackets?: number;
  };
  benchClient?: { rounds: number; roundMsMedian: number; roundMs: number[]; requestsSentOverMsMedian: number; srttMsMedian: number; lostPackets: number };
}

const medianOf = (values: Array<number | undefined>) => {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length > 0 ? median(v) : undefined;
};

function summarise(server: ServerName, loads: ChromiumLoad[], bench: BenchClientRun | undefined): ServerSummary {
  const mine = loads.filter((l) => l.server === server);
  const senders = mine.map((l) => l.serverSender).filter((s) => s !== undefined);
  return {
    server,
    label: SERVER_LABEL[server],
    chromium: {
      loads: mine.length,
      fetchMsMedian: median(mine.map((l) => l.fetchMs)),
      fetchMs: mine.map((l) => Math.round(l.fetchMs)),
      srttMsMedian: medianOf(mine.map((l) => l.sessionSrttMs)),
      minRttMsMedian: medianOf(mine.map((l) => l.sessionMinRttMs)),
      lostPackets: mine.reduce((a, l) => a + l.netlog.lostPackets, 0),
      lostByLevel: mine.reduce<Record<string, number>>((acc, l) => {
        for (const [level, n] of Object.entries(l.netlog.lostByLevel)) acc[level] = (acc[level] ?? 0) + n;
        return acc;
      }, {}),
      streamsBlocked: mine.reduce((a, l) => a + l.netlog.streamsBlocked, 0),
      retransmitsPerMilleMedian: medianOf(mine.map((l) => l.retransmitsPerMille)),
      netlogSrttMsMedian: medianOf(mine.map((l) => l.netlog.srttMs)),
      netlogMinRttMs: medianOf(mine.map((l) => l.netlog.minRttMs)),
      requestsSentOverMsMedian: medianOf(mine.map((l) => l.requestsSentOverMs)),
      ...(senders.length > 0 && {
        serverSenderSrttMsMedian: medianOf(senders.map((s) => s.srttMs)),
        serverSenderLostPackets: senders.reduce((a, s) => a + s.lostPackets, 0),
      }),
    },
    ...(bench && {
      benchClient: {
        rounds: bench.roundMs.length,
        roundMsMedian: median(bench.roundMs),
        roundMs: bench.roundMs.map(Math.round),
        requestsSentOverMsMedian: median(bench.requestsSentOverMs),
        srttMsMedian: median(bench.srttMs),
        lostPackets: bench.lostPackets,
      },
    }),
  };
}

const difference = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);

/** Who added delay: each comparison holds one side fixed. */
function verdicts(ours: ServerSummary, caddy: ServerSummary): string[] {
  const lines: string[] = [];
  const ratio = (a: number, b: number) => a / b;
  const server = ratio(ours.chromium.fetchMsMedian, caddy.chromium.fetchMsMedian);
  lines.push(
    `server: Chromium -> ours ${ours.chromium.fetchMsMedian.toFixed(0)} ms vs Chromium -> Caddy ${caddy.chromium.fetchMsMedian.toFixed(0)} ms: x${server.toFixed(2)} ` +
      `(${server > 1.1 ? 'our server adds delay' : server < 0.9 ? 'our server is faster' : 'within 10%'})`,
  );
  if (ours.benchClient && caddy.benchClient) {
    const client = ratio(caddy.benchClient.roundMsMedian, caddy.chromium.fetchMsMedian);
    lines.push(
      `client: ours -> Caddy ${caddy.benchClient.roundMsMedian.toFixed(0)} ms vs Chromium -> Caddy ${caddy.chromium.fetchMsMedian.toFixed(0)} ms: x${client.toFixed(2)} ` +
        `(${client > 1.1 ? 'our client adds delay' : client < 0.9 ? 'our client is faster' : 'within 10%'})`,
    );
    const both = ratio(ours.benchClient.roundMsMedian, caddy.chromium.fetchMsMedian);
    lines.push(`both: ours -> ours ${ours.benchClient.roundMsMedian.toFixed(0)} ms vs Chromium -> Caddy: x${both.toFixed(2)}`);
  }
  // An RTT estimate above the path's holds the time packets waited in the measuring side's socket
  // and in the peer's (less the ACK delay the peer reports): with the other side fixed, the
  // difference is the varied side's own.
  const rttServer = difference(ours.chromium.srttMsMedian, caddy.chromium.srttMsMedian);
  if (rttServer !== undefined) lines.push(`RTT, server: Chromium's smoothed RTT to ours exceeds its RTT to Caddy by ${rttServer.toFixed(0)} ms (path ${PATH_RTT_MS} ms)`);
  const rttClient = difference(caddy.benchClient?.srttMsMedian, caddy.chromium.srttMsMedian);
  if (rttClient !== undefined) lines.push(`RTT, client: our client's smoothed RTT to Caddy exceeds Chromium's by ${rttClient.toFixed(0)} ms`);
  const bytes = FETCHES * FETCH_BYTES;
  // quiche: 10 packets of 1350 bytes; quic-go: 32 of 1252 (its packet size before path MTU discovery).
  const quiche = slowStartRoundTrips(bytes, 10, 1350);
  const quicGo = slowStartRoundTrips(bytes, 32, 1252);
  lines.push(
    `stacks, not protocols: quic-go (Caddy) starts with a 32-packet initial window, quiche (ours) with 10: slow start alone ` +
      `needs ~${quiche} round trips for ${bytes / 1e6} MB from 10 packets and ~${quicGo} from 32, so Caddy may lead by ~${(quiche - quicGo) * PATH_RTT_MS} ms ` +
      `at ${PATH_RTT_MS} ms RTT with an equally good send loop`,
  );
  return lines;
}

const byLevel = (counts: Record<string, number>) => {
  const parts = Object.entries(counts).map(([level, n]) => `${n} ${level.replace(/^ENCRYPTION_/, '').toLowerCase()}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
};

function formatText(summaries: ServerSummary[], lines: string[]): string {
  const out = [`${FETCHES} x ${FETCH_BYTES / 1000} KB over one HTTP/3 connection, ${PATH_RTT_MS} ms RTT (${ONE_WAY_DELAY_MS} ms each way), loss-free; medians over loads`];
  const f = (v: number | undefined, digits = 0) => (v === undefined ? '-' : v.toFixed(digits));
  for (const s of summaries) {
    const c = s.chromium;
    out.push(`\n${s.label}`);
    out.push(`  Chromium     ${f(c.fetchMsMedian).padStart(5)} ms for the ${FETCHES} fetches (loads ${c.fetchMs.join(' ')}); its requests left over ${f(c.requestsSentOverMsMedian)} ms`);
    out.push(`               session smoothed RTT ${f(c.srttMsMedian)} ms, min RTT ${f(c.minRttMsMedian)} ms (Chromium's histograms); net log: RTT ${f(c.netlogSrttMsMedian)} ms, min ${f(c.netlogMinRttMs)} ms`);
    out.push(`               in all ${c.loads} loads (net log): packets lost ${c.lostPackets}${byLevel(c.lostByLevel)}, STREAMS_BLOCKED sent ${c.streamsBlocked}; retransmits ${f(c.retransmitsPerMilleMedian)} per mille (median, histograms)`);
    if (c.serverSenderSrttMsMedian !== undefined) out.push(`               our server's sender: smoothed RTT ${f(c.serverSenderSrttMsMedian)} ms, packets lost in all loads ${c.serverSenderLostPackets}`);
    if (s.benchClient) {
      const b = s.benchClient;
      out.push(`  bench client ${f(b.roundMsMedian).padStart(5)} ms per round of ${FETCHES} (rounds ${b.roundMs.join(' ')}); its requests left over ${f(b.requestsSentOverMsMedian)} ms`);
      out.push(`               quiche smoothed RTT ${f(b.srttMsMedian)} ms, packets lost in all rounds ${b.lostPackets}`);
    }
  }
  out.push('', ...lines);
  return out.join('\n');
}

async function main(): Promise<void> {
  const loads = Number(arg('loads', '5'));
  const missing = [!isRoot() && 'root (network namespaces)', !CHROMIUM_PATH && 'chromium (apt-get install chromium)', !which('caddy') && 'caddy (apt-get install caddy)'].filter(Boolean);
  if (missing.length > 0) {
    console.error(`npm run perf -- chromium needs ${missing.join(', ')}`);
    process.exit(2);
  }
  // Ctrl-C: the namespaces, the link and Caddy go too (their teardowns are registered with netem).
  installTeardownHandlers();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-perf-chromium-'));
  try {
    const netlogDir = process.argv.includes('--netlog-dir') ? path.resolve(arg('netlog-dir', '.')) : undefined;
    if (netlogDir) mkdirSync(netlogDir, { recursive: true });
    const loadBefore = os.loadavg()[0]!;
    const chromiumLoads = await measureChromium(loads, dir, netlogDir);
    const benchRuns = process.argv.includes('--no-bench-client') ? undefined : (['ours', 'caddy'] as const).map((s) => runBenchClient(dir, s, loads));
    const summaries = (['ours', 'caddy'] as const).map((s) => summarise(s, chromiumLoads, benchRuns?.find((b) => b.server === s)));
    // Every side here is a process on this machine (Chromium, servers, the userspace link): its load moves every figure.
    const machine = `machine: ${os.cpus().length} cores, load average (1 min) ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`;
    const lines = [...verdicts(summaries[0]!, summaries[1]!), machine];
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ pathRttMs: PATH_RTT_MS, fetches: FETCHES, fetchBytes: FETCH_BYTES, servers: summaries, verdicts: lines, loads: chromiumLoads }, null, 2));
    } else {
      console.log(formatText(summaries, lines));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
