/**
 * UDP measurement agent, run inside a namespace (`ip netns exec NS node ... udp-agent.ts '<json>'`).
 * Prints one JSON result line. Timestamps are monoMs() (CLOCK_MONOTONIC), common to every namespace
 * of the machine, so one-way delays are exact differences.
 *
 * Packet payload (big-endian): 0 u32 sequence, 4 u32 flow id, 8 f64 sent-at, 16 f64 echoed-at.
 *  - mode "reflect": receive; echo (with echoed-at set) or just count (sink); stops after durationMs.
 *  - mode "send": send `count` packets at `pps` to target, collect echoes when echo is on.
 */
import { setPriority } from 'node:os';
import { monoMs } from '../../../src/util/clock.ts';
import { udpSocketDrops } from './proc-net-udp.ts';
import { closeFd, Poller, setRealtimeFifo, setTimerSlackNs, udpConnect, udpRecv, udpSend, udpSendTo, udpSocket } from '../libc.ts';

export interface ReflectArgs {
  mode: 'reflect';
  bind: string;
  port: number;
  echo: boolean;
  /** Stop this long after start at the latest. */
  durationMs: number;
  /** Stop once nothing arrived for this long after the first packet. */
  idleStopMs: number;
  /** Record every arrival (seq, sentAt, arrivedAt, length) for delay and rate analysis. */
  record: boolean;
}

export interface SendArgs {
  mode: 'send';
  bind: string;
  target: string;
  port: number;
  count: number;
  pps: number;
  payloadBytes: number;
  /** Wait for echoes this long after the last send. */
  drainMs: number;
  record: boolean;
  /**
   * Run real-time (only at rates where pacing sleeps between packets, e.g. <= 20,000/s: a sender that
   * spins at real-time priority exhausts the real-time budget and gets the link throttled too).
   */
  realtime?: boolean;
}

export interface Arrival {
  seq: number;
  sentAt: number;
  /** When the reflector saw it (echoes only). */
  echoedAt?: number;
  arrivedAt: number;
  bytes: number;
}

export interface AgentResult {
  sent: number;
  /** Sends refused by a full socket buffer (they were retried). */
  sendStalls: number;
  received: number;
  /**
   * Reflector: datagrams the kernel dropped at its socket (receive buffer full: the agent read too
   * late), from the namespace's /proc/net/udp; packets the link delivered that a probe must not
   * count as the link's loss. Undefined when unreadable.
   */
  socketDrops?: number;
  startedAt: number;
  endedAt: number;
  arrivals?: Arrival[];
}

const HEADER_BYTES = 24;

function readArrival(buf: Buffer, n: number, arrivedAt: number, echoed: boolean): Arrival {
  const a: Arrival = { seq: buf.readUInt32BE(0), sentAt: buf.readDoubleBE(8), arrivedAt, bytes: n };
  if (echoed) a.echoedAt = buf.readDoubleBE(16);
  return a;
}

function reflect(args: ReflectArgs): AgentResult {
  const fd = udpSocket(args.bind, args.port);
  const poller = new Poller([fd]);
  const buf = Buffer.alloc(65536);
  const from = Buffer.alloc(16);
  const fromLen = Buffer.alloc(4);
  const arrivals: Arrival[] = [];
  const startedAt = monoMs();
  const end = startedAt + args.durationMs;
  let received = 0;
  let sent = 0;
  let lastArrival = Infinity;
  process.stdout.write('ready\n');
  for (;;) {
    const now = monoMs();
    if (now >= end || now - lastArrival > args.idleStopMs) break;
    poller.wait(Math.min(50, end - now));
    for (;;) {
      const n = udpRecv(fd, buf, from, fromLen);
      if (n <= 0) break;
      const t = monoMs();
      lastArrival = t;
      received++;
      if (args.record && n >= HEADER_BYTES) arrivals.push(readArrival(buf, n, t, false));
      if (args.echo && n >= HEADER_BYTES) {
        buf.writeDoubleBE(t, 16);
        if (udpSendTo(fd, buf, n, from)) sent++;
      }
    }
  }
  const socketDrops = udpSocketDrops(args.port);
  closeFd(fd);
  return { sent, sendStalls: 0, received, socketDrops, startedAt, endedAt: monoMs(), arrivals: args.record ? arrivals : undefined };
}


function send(args: SendArgs): AgentResult {
  const fd = udpSocket(args.bind, 0);
  udpConnect(fd, args.target, args.port);
  const poller = new Poller([fd]);
  const out = Buffer.alloc(Math.max(HEADER_BYTES, args.payloadBytes));
  const buf = Buffer.alloc(65536);
  const from = Buffer.alloc(16);
  const fromLen = Buffer.alloc(4);
  const arrivals: Arrival[] = [];
  const intervalMs = 1000 / args.pps;
  const startedAt = monoMs();
  let sent = 0;
  let stalls = 0;
  let received = 0;
  const drainEcho = () => {
    for (;;) {
      const n = udpRecv(fd, buf, from, fromLen);
      if (n <= 0) return;
      received++;
      if (args.record && n >= HEADER_BYTES) arrivals.push(readArrival(buf, n, monoMs(), true));
    }
  };
  while (sent < args.count) {
    const now = monoMs();
    const due = Math.min(args.count, Math.floor((now - startedAt) / intervalMs) + 1);
    while (sent < due) {
      out.writeUInt32BE(sent, 0);
      out.writeDoubleBE(monoMs(), 8);
      if (!udpSend(fd, out, out.length)) {
        stalls++;
        break;
      }
      sent++;
    }
    drainEcho();
    const nextAt = startedAt + sent * intervalMs;
    poller.wait(Math.max(0, nextAt - monoMs()));
  }
  const end = monoMs() + args.drainMs;
  for (;;) {
    drainEcho();
    const left = end - monoMs();
    if (left <= 0) break;
    poller.wait(Math.min(left, 20));
  }
  closeFd(fd);
  return { sent, sendStalls: stalls, received, startedAt, endedAt: monoMs(), arrivals: args.record ? arrivals : undefined };
}

function main(): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as ReflectArgs | SendArgs;
  setTimerSlackNs(1);
  // A probe that is scheduled late measures the machine, not the link: the reflector, which sleeps
  // until a packet comes, runs real-time below the link; the sender only when asked (see SendArgs).
  try {
    if (args.mode === 'reflect' || args.realtime) setRealtimeFifo(5);
    else setPriority(0, -5);
  } catch {
    try {
      setPriority(0, -5);
    } catch {
      // not permitted: measure at normal priority
    }
  }
  const result = args.mode === 'reflect' ? reflect(args) : send(args);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
