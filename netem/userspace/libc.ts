/**
 * The few libc calls the userspace link needs, through koffi (no native build step): open/close,
 * the TUNSETIFF ioctl, read/write on TUN fds, ppoll with nanosecond timeouts, setns to create a device
 * inside a namespace, and prctl for timer slack and parent-death signal; UDP sockets for the probe
 * agent and AF_PACKET sockets for the kernel backend's drop log. Linux x86-64/arm64 only.
 */
import koffi from 'koffi';

const O_RDONLY = 0;
const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux. */
const IFREQ_SIZE = 40;
const PR_SET_PDEATHSIG = 1;
const PR_SET_TIMERSLACK = 29;
export const POLLIN = 0x001;
export const EAGAIN = 11;
const EINTR = 4;

export class OsError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: errno ${errno}${ERRNO_NAMES[errno] ? ` (${ERRNO_NAMES[errno]})` : ''}`);
    this.name = 'OsError';
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  9: 'EBADF',
  13: 'EACCES',
  16: 'EBUSY',
  19: 'ENODEV',
  22: 'EINVAL',
  [EAGAIN]: 'EAGAIN',
  [EINTR]: 'EINTR',
};

interface Libc {
  open: (path: string, flags: number) => number;
  close: (fd: number) => number;
  ioctl: (fd: number, req: number, arg: Buffer) => number;
  read: (fd: number, buf: Uint8Array, n: number) => number;
  write: (fd: number, buf: Uint8Array, n: number) => number;
  ppoll: (fds: Buffer | null, n: number, ts: Buffer | null, sigmask: null) => number;
  setns: (fd: number, nstype: number) => number;
  prctl: (op: number, a: number, b: number, c: number, d: number) => number;
  schedSetscheduler: (pid: number, policy: number, param: Buffer) => number;
  errnoLocation: () => unknown;
}

let libc: Libc | undefined;
let libcLibrary: ReturnType<typeof koffi.load> | undefined;

/** The one koffi handle on libc, shared by every binding group below. */
function libcHandle(): ReturnType<typeof koffi.load> {
  libcLibrary ??= koffi.load('libc.so.6');
  return libcLibrary;
}

function load(): Libc {
  if (libc) return libc;
  const lib = libcHandle();
  libc = {
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long req, void *arg)'),
    read: lib.func('long read(int fd, void *buf, size_t n)'),
    write: lib.func('long write(int fd, const void *buf, size_t n)'),
    ppoll: lib.func('int ppoll(void *fds, unsigned long n, void *ts, void *sigmask)'),
    setns: lib.func('int setns(int fd, int nstype)'),
    prctl: lib.func('int prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)'),
    schedSetscheduler: lib.func('int sched_setscheduler(int pid, int policy, const void *param)'),
    errnoLocation: lib.func('int *__errno_location()'),
  };
  return libc;
}

export function errno(): number {
  const l = load();
  return koffi.decode(l.errnoLocation(), 'int') as number;
}

function check(call: string, r: number): number {
  if (r < 0) throw new OsError(call, errno());
  return r;
}

/**
 * Creates a TUN device (IFF_TUN | IFF_NO_PI: one raw IP packet per read/write) named `name` inside
 * network namespace `ns` (a name under /run/netns), by switching this thread into it for the two calls.
 * The device never appears in the host namespace; it lives as long as the returned fd (non-persistent),
 * so it disappears when this process dies.
 */
export function openTunInNamespace(ns: string, name: string): number {
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new RangeError(`device name ${name} is longer than ${IFNAMSIZ - 1} bytes`);
  const l = load();
  return inNetworkNamespace(ns, () => {
    const fd = check('open /dev/net/tun', l.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC));
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, 'latin1');
    ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, IFNAMSIZ);
    if (l.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const e = errno();
      l.close(fd);
      throw new OsError(`ioctl TUNSETIFF ${name}`, e);
    }
    return fd;
  });
}

export function closeFd(fd: number): void {
  load().close(fd);
}

/** Non-blocking read of one packet into buf: its length, or 0 when none is waiting. */
export function readPacket(fd: number, buf: Uint8Array): number {
  const n = load().read(fd, buf, buf.length);
  if (n >= 0) return n;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return 0;
  throw new OsError('read', e);
}

/** Writes one packet; false when the kernel refused it (counted by the caller). */
export function writePacket(fd: number, packet: Uint8Array): boolean {
  return load().write(fd, packet, packet.length) === packet.length;
}

/** A reusable pollfd array and timespec for ppoll on a fixed set of fds. */
export class Poller {
  private readonly pollfds: Buffer;
  private readonly timespec = Buffer.alloc(16);

  constructor(private readonly fds: readonly number[]) {
    this.pollfds = Buffer.alloc(8 * fds.length);
    fds.forEach((fd, i) => {
      this.pollfds.writeInt32LE(fd, 8 * i);
      this.pollfds.writeInt16LE(POLLIN, 8 * i + 4);
    });
  }

  /** Waits until a fd is readable or timeoutMs passes (nanosecond resolution); number of ready fds. */
  wait(timeoutMs: number): number {
    const ns = Math.max(0, Math.round(timeoutMs * 1e6));
    this.timespec.writeBigInt64LE(BigInt(Math.floor(ns / 1e9)), 0);
    this.timespec.writeBigInt64LE(BigInt(ns % 1e9), 8);
    const r = load().ppoll(this.pollfds, this.fds.length, this.timespec, null);
    if (r < 0) {
      const e = errno();
      if (e === EINTR) return 0;
      throw new OsError('ppoll', e);
    }
    return r;
  }

  /** Sleeps timeoutMs (nanosecond resolution) without watching the fds. */
  sleep(timeoutMs: number): void {
    const ns = Math.max(0, Math.round(timeoutMs * 1e6));
    this.timespec.writeBigInt64LE(BigInt(Math.floor(ns / 1e9)), 0);
    this.timespec.writeBigInt64LE(BigInt(ns % 1e9), 8);
    const r = load().ppoll(null, 0, this.timespec, null);
    if (r < 0 && errno() !== EINTR) throw new OsError('ppoll', errno());
  }

  /** Whether fd i was readable in the last wait(). */
  readable(i: number): boolean {
    return (this.pollfds.readInt16LE(8 * i + 6) & POLLIN) !== 0;
  }
}

/** Timer slack of this thread in ns (default 50 us): 1 makes ppoll wake when asked. */
export function setTimerSlackNs(ns: number): void {
  check('prctl PR_SET_TIMERSLACK', load().prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0));
}

const SCHED_FIFO = 1;

/**
 * Real-time FIFO scheduling for the calling thread at `priority` (1..99): it runs as soon as it is
 * runnable, ahead of every ordinary process. The kernel's RT throttling (sched_rt_runtime_us, 95% by
 * default) still leaves time to the rest of the machine if it spins.
 */
export function setRealtimeFifo(priority: number): void {
  const param = Buffer.alloc(4);
  param.writeInt32LE(priority, 0);
  check('sched_setscheduler SCHED_FIFO', load().schedSetscheduler(0, SCHED_FIFO, param));
}

/** Ask the kernel to send `signal` to this process when its parent dies. */
export function setParentDeathSignal(signal: number): void {
  check('prctl PR_SET_PDEATHSIG', load().prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0));
}

let exitCall: ((code: number) => void) | undefined;

/**
 * Ends the whole process with `code` at once (_exit), from any thread: a worker's process.exit()
 * ends only the worker, and the main thread may be the one that is stuck.
 */
export function exitProcessNow(code: number): never {
  exitCall ??= libcHandle().func('void _exit(int status)');
  exitCall(code);
  throw new Error('_exit returned');
}

// ---- UDP sockets, for the measurement agent (probe/udp-agent.ts) ----

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_SNDBUF = 7;

interface SocketCalls {
  socket: (domain: number, type: number, proto: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Uint8Array, n: number, flags: number) => number;
  sendto: (fd: number, buf: Uint8Array, n: number, flags: number, addr: Buffer, len: number) => number;
  recvfrom: (fd: number, buf: Uint8Array, n: number, flags: number, addr: Buffer, len: Buffer) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
}

let sockets: SocketCalls | undefined;

function loadSockets(): SocketCalls {
  if (sockets) return sockets;
  const lib = libcHandle();
  sockets = {
    socket: lib.func('int socket(int domain, int type, int proto)'),
    bind: lib.func('int bind(int fd, const void *addr, unsigned int len)'),
    connect: lib.func('int connect(int fd, const void *addr, unsigned int len)'),
    send: lib.func('long send(int fd, const void *buf, size_t n, int flags)'),
    sendto: lib.func('long sendto(int fd, const void *buf, size_t n, int flags, const void *addr, unsigned int len)'),
    recvfrom: lib.func('long recvfrom(int fd, void *buf, size_t n, int flags, void *addr, void *len)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, unsigned int len)'),
  };
  return sockets;
}

/** struct sockaddr_in for an IPv4 address and port. */
export function sockaddrIn(address: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  address.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
  return b;
}

/** A non-blocking UDP socket bound to address:port (port 0 = any), with large buffers. */
export function udpSocket(address: string, port: number, bufferBytes = 8 << 20): number {
  const s = loadSockets();
  const fd = check('socket', s.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
  const v = Buffer.alloc(4);
  v.writeInt32LE(bufferBytes, 0);
  s.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, v, 4);
  s.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, v, 4);
  check(`bind ${address}:${port}`, s.bind(fd, sockaddrIn(address, port), 16));
  return fd;
}

export function udpConnect(fd: number, address: string, port: number): void {
  check(`connect ${address}:${port}`, loadSockets().connect(fd, sockaddrIn(address, port), 16));
}

/** Sends on a connected socket; false when the socket buffer is full (EAGAIN). */
export function udpSend(fd: number, buf: Uint8Array, n: number): boolean {
  if (loadSockets().send(fd, buf, n, 0) >= 0) return true;
  const e = errno();
  if (e === EAGAIN || e === 105 /* ENOBUFS */) return false;
  throw new OsError('send', e);
}

export function udpSendTo(fd: number, buf: Uint8Array, n: number, addr: Buffer): boolean {
  return loadSockets().sendto(fd, buf, n, 0, addr, 16) >= 0;
}

/** Receives one datagram (non-blocking): its length, or 0 when none waits; `from` gets the sender. */
export function udpRecv(fd: number, buf: Uint8Array, from: Buffer, fromLen: Buffer): number {
  fromLen.writeUInt32LE(16, 0);
  const n = loadSockets().recvfrom(fd, buf, buf.length, 0, from, fromLen);
  if (n >= 0) return n;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return 0;
  throw new OsError('recvfrom', e);
}

const SO_MAX_PACING_RATE = 47;
/** The largest finite rate (bytes/s) SO_MAX_PACING_RATE takes as a 32-bit value; ~0U means "no pacing". */
const PACING_RATE_NO_CAP = 0xfffffffe;

/**
 * Turns on Linux TCP's own pacing for one socket. The kernel paces a TCP socket only when a
 * qdisc (fq) or the congestion control (BBR) asks for it, or when SO_MAX_PACING_RATE holds a
 * finite rate: then tcp_update_pacing_rate paces at 200% of cwnd/srtt in slow start and 120%
 * after, capped by that rate. The cap set here (34 Gbit/s) caps nothing.
 */
export function enableTcpPacing(fd: number): void {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(PACING_RATE_NO_CAP, 0);
  check('setsockopt SO_MAX_PACING_RATE', loadSockets().setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, v, 4));
}

const SOL_UDP = 17;
const UDP_SEGMENT = 103;

/**
 * UDP generic segmentation offload for one socket: a send larger than `segmentSize` leaves as
 * datagrams of that size (the last may be shorter), segmented by the kernel in one system call.
 * Returns false when the kernel refuses (before Linux 4.18): then send datagrams one by one.
 */
export function setUdpSegmentSize(fd: number, segmentSize: number): boolean {
  const v = Buffer.alloc(4);
  v.writeInt32LE(segmentSize, 0);
  return loadSockets().setsockopt(fd, SOL_UDP, UDP_SEGMENT, v, 4) === 0;
}

// ---- AF_PACKET sockets, for the kernel backend's drop log (netem/kernel/capture.ts) ----

const AF_PACKET = 17;
/** Every protocol: a socket for one protocol (ETH_P_IP) sees only what the device receives, not what it sends. */
const ETH_P_ALL = 0x0003;
const SO_RCVBUFFORCE = 33;
const SIOCGSTAMPNS = 0x8907;
const SOL_PACKET = 263;
const PACKET_STATISTICS = 6;
const MSG_TRUNC = 0x20;
/** sockaddr_ll.sll_protocol of IPv4 (network byte order, read as big-endian). */
export const ETHERTYPE_IPV4 = 0x0800;
/** sockaddr_ll.sll_pkttype of a packet this host sent (as opposed to one it received). */
export const PACKET_OUTGOING = 4;
/** sizeof(struct sockaddr_ll). */
export const SOCKADDR_LL_SIZE = 20;

interface PacketCalls {
  ifNameToIndex: (name: string) => number;
  getsockopt: (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;
  clockGettime: (clock: number, ts: Buffer) => number;
}

let packetCalls: PacketCalls | undefined;

function loadPacketCalls(): PacketCalls {
  packetCalls ??= {
    ifNameToIndex: libcHandle().func('unsigned int if_nametoindex(const char *name)'),
    getsockopt: libcHandle().func('int getsockopt(int fd, int level, int name, void *val, void *len)'),
    clockGettime: libcHandle().func('int clock_gettime(int clock, void *ts)'),
  };
  return packetCalls;
}

/**
 * Runs `fn` with this thread inside network namespace `ns` (a name under /run/netns), back in its
 * own namespace before anything else runs on it. Sockets made in `fn` stay in `ns`.
 */
function inNetworkNamespace<T>(ns: string, fn: () => T): T {
  const l = load();
  const home = check('open /proc/thread-self/ns/net', l.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC));
  let target = -1;
  try {
    target = check(`open /run/netns/${ns}`, l.open(`/run/netns/${ns}`, O_RDONLY | O_CLOEXEC));
    check(`setns ${ns}`, l.setns(target, CLONE_NEWNET));
    try {
      return fn();
    } finally {
      if (l.setns(home, CLONE_NEWNET) < 0) throw new OsError('setns back to the original namespace', errno());
    }
  } finally {
    if (target >= 0) l.close(target);
    l.close(home);
  }
}

/**
 * A non-blocking AF_PACKET socket (SOCK_DGRAM: packets without their link header, of every
 * protocol) on `device` inside namespace `ns`, with kernel receive timestamps and a receive buffer
 * of `bufferBytes`. It sees the packets the device receives and those it sends (after its qdiscs);
 * sockaddr_ll tells which (sll_pkttype) and the protocol (sll_protocol).
 */
export function packetSocketInNamespace(ns: string, device: string, bufferBytes = 32 << 20): number {
  const s = loadSockets();
  const p = loadPacketCalls();
  return inNetworkNamespace(ns, () => {
    const ifindex = p.ifNameToIndex(device);
    if (ifindex === 0) throw new OsError(`if_nametoindex ${device} in ${ns}`, errno());
    const protocol = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8); // htons
    const fd = check('socket AF_PACKET', s.socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | O_CLOEXEC /* SOCK_CLOEXEC */, protocol));
    try {
      const v = Buffer.alloc(4);
      v.writeInt32LE(bufferBytes, 0);
      check('setsockopt SO_RCVBUFFORCE', s.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, v, 4));
      enableReceiveTimestamps(fd);
      const addr = Buffer.alloc(SOCKADDR_LL_SIZE);
      addr.writeUInt16LE(AF_PACKET, 0);
      addr.writeUInt16LE(protocol, 2);
      addr.writeInt32LE(ifindex, 4);
      check(`bind AF_PACKET ${device}`, s.bind(fd, addr, SOCKADDR_LL_SIZE));
      return fd;
    } catch (e) {
      load().close(fd);
      throw e;
    }
  });
}

/** udpSocket(), made inside namespace `ns` (for tests and probes that run in the host namespace's process). */
export function udpSocketInNamespace(ns: string, address: string, port: number, bufferBytes = 8 << 20): number {
  return inNetworkNamespace(ns, () => udpSocket(address, port, bufferBytes));
}

/**
 * The kernel stamps every packet this socket receives from now on, for lastPacketTimeNs. The first
 * SIOCGSTAMPNS turns that on (and finds no packet yet: ENOENT). Not SO_TIMESTAMPNS: with it the
 * kernel hands the time over as a control message only and SIOCGSTAMPNS stays empty.
 */
export function enableReceiveTimestamps(fd: number): void {
  const ts = Buffer.alloc(16);
  if (load().ioctl(fd, SIOCGSTAMPNS, ts) < 0 && errno() !== 2 /* ENOENT */) throw new OsError('ioctl SIOCGSTAMPNS', errno());
}

const ENETDOWN = 100;

/**
 * Reads one packet's first bytes into buf (non-blocking): the packet's whole length (it may exceed
 * what was copied), or 0 when none waits; `from` gets its sockaddr_ll (byte 10: sll_pkttype).
 * ENETDOWN (the device was down when bound, or went down) is reported once by the kernel and is no
 * packet: 0 too.
 */
export function recvPacketHead(fd: number, buf: Uint8Array, from: Buffer, fromLen: Buffer): number {
  fromLen.writeUInt32LE(SOCKADDR_LL_SIZE, 0);
  const n = loadSockets().recvfrom(fd, buf, buf.length, MSG_TRUNC, from, fromLen);
  if (n >= 0) return n;
  const e = errno();
  if (e === EAGAIN || e === EINTR || e === ENETDOWN) return 0;
  throw new OsError('recvfrom AF_PACKET', e);
}

/** The kernel's timestamp (CLOCK_REALTIME, ns) of the last packet read from fd. */
export function lastPacketTimeNs(fd: number, ts: Buffer): bigint {
  check('ioctl SIOCGSTAMPNS', load().ioctl(fd, SIOCGSTAMPNS, ts));
  return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
}

/** Packets the socket had to discard (its buffer was full) since the last call. */
export function packetSocketDrops(fd: number): number {
  const stats = Buffer.alloc(8);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(8, 0);
  check('getsockopt PACKET_STATISTICS', loadPacketCalls().getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, stats, len));
  return stats.readUInt32LE(4);
}

/**
 * CLOCK_REALTIME minus CLOCK_MONOTONIC in ns: turns packet timestamps into monoMs(). A realtime
 * reading between two monotonic ones; of a few tries, the one with the two monotonic readings
 * closest together (a thread preempted between the readings, on a busy or emulated machine, would
 * be off by the time it waited).
 */
export function realtimeMinusMonotonicNs(): bigint {
  const p = loadPacketCalls();
  const ts = Buffer.alloc(16);
  const read = (clock: number) => {
    check('clock_gettime', p.clockGettime(clock, ts));
    return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
  };
  let best: { gap: bigint; offset: bigint } | undefined;
  for (let i = 0; i < 5; i++) {
    const mono1 = read(1);
    const real = read(0);
    const mono2 = read(1);
    const gap = mono2 - mono1;
    if (!best || gap < best.gap) best = { gap, offset: real - (mono1 + mono2) / 2n };
  }
  return best!.offset;
}
