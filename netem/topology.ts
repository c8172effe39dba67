/**
 * The network of one run: loopback when the scenario says `network: none`, otherwise a client and a
 * server namespace joined by one or more shaped paths. The topology tracks everything it makes and
 * tears it down on every exit path (see cleanup.ts).
 */
import { BenchError, UserError } from '../src/util/errors.ts';
import type { Backend, NetworkSpec, Phase, TcpCongestionControl } from './model.ts';
import type { CaptureRequest, CaptureSummary, DropEvent, DropLogStatus, LinkCounters, LinkProcessLoad, Side, Topology } from './types.ts';
import type { UserspaceLinkBackend } from './userspace/index.ts';
import { planAddressing, type LinkBackend, type PathAddressing } from './backend.ts';
import { getRunner, type CommandRunner } from './exec.ts';
import {
  configurePathAddresses,
  createNamespace,
  defaultRouteCommand,
  deleteNamespace,
  ensureCongestionControl,
  inNamespace,
  namespaceNames,
  sanitizeRunId,
  setNamespaceCongestionControl,
  disableTcpMetricsCache,
  type NamespaceNames,
} from './namespaces.ts';
import { deleteNamespaceSync, findLinkProcesses, registerTeardown, removeOwnerRecord, writeOwnerRecord } from './cleanup.ts';
import { createKernelBackend } from './kernel/backend.ts';
import { probeNetem } from './kernel/probe.ts';

export interface TopologyOptions {
  runId: string;
  /** Scenario file (or name), for messages that tell the user what to edit. */
  scenario?: string;
  /** Use this link backend instead of the one the spec selects (tests, benchmarks: createVethBackend()). */
  linkBackend?: LinkBackend;
  /** Defaults to the process-wide recorded runner (getRunner()). */
  exec?: CommandRunner;
  /**
   * Seed of the userspace link's random decisions (loss, jitter, reordering ...), so a scenario's
   * `seed` reproduces them; default the run id. The kernel's netem cannot be seeded.
   */
  seed?: string | number;
  /**
   * Whether `network.backend: auto` may use the kernel link on this machine: the runner answers from
   * the kernel link's fidelity measurement (src/runner/fidelity-cache.ts). Without it, auto never
   * picks the kernel link (it has not been judged).
   */
  kernelVerdict?: () => Promise<KernelVerdict>;
}

/** Whether the kernel link (tc netem) is trusted on this machine, and why. */
export interface KernelVerdict {
  trusted: boolean;
  /** e.g. "its fidelity measurement on this machine passed (2026-12-04)". */
  reason: string;
}

/** What a shaped topology offers beyond the shared Topology interface. */
export interface ShapedTopology extends Topology {
  readonly runId: string;
  readonly namespaces: NamespaceNames;
  readonly addressing: readonly PathAddressing[];
  /** The link backend actually running ('veth' = unshaped reference). */
  readonly linkBackend: LinkBackend['name'];
  readonly mtu: number;
  /** The TCP congestion control on every path (give QUIC the same). */
  readonly congestionControl: TcpCongestionControl;
  /** Per namespace: whether the namespace-wide default could be set too (see setNamespaceCongestionControl). */
  readonly congestionControlNotes: readonly string[];
  /** Why this backend was chosen (for the report), e.g. "auto: tc netem unavailable: ...". */
  readonly backendReason: string;
}

export const LOOPBACK_ADDRESS = '127.0.0.1';

export function loopbackTopology(): Topology {
  return {
    backend: 'none',
    serverAddress: LOOPBACK_ADDRESS,
    clientAddresses: { loopback: LOOPBACK_ADDRESS },
    commandPrefix: () => [],
    applyPhase: async () => undefined,
    routeVia: async () => {
      throw new BenchError('NETEM_NO_PATHS', 'network: none has no paths to route over');
    },
    counters: async () => ({}),
    linkCpuMs: async () => undefined,
    drops: async () => [],
    dropLog: () => ({ kept: false, detail: 'plain loopback: nothing is shaped or dropped' }),
    deliveries: async () => undefined,
    teardown: async () => undefined,
  };
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function needsRootError(scenario?: string): UserError {
  return new UserError(
    'NETEM_NEEDS_ROOT',
    `shaping the network needs root (network namespaces and TUN devices); run with sudo, or set \`network: none\` in ${scenario ?? 'the scenario'} to run on plain loopback`,
  );
}

type ShapedSpec = Extract<NetworkSpec, { kind: 'shaped' }>;

/** Loaded lazily: kernel and loopback runs never load the TUN/FFI code. */
async function loadUserspaceBackend(seed: string | number | undefined, spec: ShapedSpec): Promise<LinkBackend> {
  const { createUserspaceBackend } = await import('./userspace/index.ts');
  return createUserspaceBackend({ seed, jitterOrder: spec.jitterOrder ?? 'reorder' });
}

/** What only the userspace backend can do; the reason, or undefined when the kernel can run the spec. */
export function needsUserspace(spec: ShapedSpec): string | undefined {
  const traced = spec.paths.find((p) => p.up.rateTrace !== undefined || p.down.rateTrace !== undefined);
  if (traced) return `path "${traced.name}" uses a rate trace`;
  if (spec.phases.some((ph) => ph.rebind)) return 'a phase rebinds the client address/port';
  if (spec.jitterOrder === 'fifo') return 'jitter keeps packets in order (jitterOrder: fifo), which netem cannot';
  if (spec.phases.some((ph) => ph.up?.rateTrace !== undefined || ph.down?.rateTrace !== undefined)) return 'a phase uses a rate trace';
  return undefined;
}

async function selectBackend(
  spec: ShapedSpec,
  exec: CommandRunner,
  scenario: string | undefined,
  seed: string | number | undefined,
  kernelVerdict: TopologyOptions['kernelVerdict'],
): Promise<{ backend: LinkBackend; reason: string }> {
  const where = scenario ?? 'the scenario';
  if (spec.backend === 'userspace') return { backend: await loadUserspaceBackend(seed, spec), reason: 'requested: userspace' };
  const userspaceOnly = needsUserspace(spec);
  if (spec.backend === 'kernel') {
    if (userspaceOnly) {
      throw new UserError('NETEM_KERNEL_CANNOT', `network.backend: kernel cannot run ${where}: ${userspaceOnly}; set network.backend: userspace (or auto)`);
    }
    const probe = await probeNetem(exec);
    if (!probe.ok) {
      throw new UserError(
        'NETEM_KERNEL_UNAVAILABLE',
        `network.backend: kernel needs tc netem, which this kernel lacks (${probe.detail}); set network.backend: userspace (or auto) in ${where}, or load sch_netem (modprobe sch_netem)`,
      );
    }
    return { backend: createKernelBackend(), reason: 'requested: kernel' };
  }
  if (userspaceOnly) return { backend: await loadUserspaceBackend(seed, spec), reason: `auto: userspace because ${userspaceOnly}` };
  const probe = await probeNetem(exec);
  if (!probe.ok) return { backend: await loadUserspaceBackend(seed, spec), reason: `auto: userspace because ${probe.detail}` };
  // The kernel link only when it proved itself on this machine: netem's timing depends on the
  // kernel, its timers and the machine's load, which the fidelity measurement checks.
  const verdict = kernelVerdict ? await kernelVerdict() : { trusted: false, reason: "the kernel link's fidelity was not judged" };
  if (verdict.trusted) return { backend: createKernelBackend(), reason: `auto: kernel (tc netem) because ${verdict.reason}` };
  return { backend: await loadUserspaceBackend(seed, spec), reason: `auto: userspace because ${verdict.reason}` };
}

function validate(spec: ShapedSpec, where: string): void {
  if (spec.paths.length === 0) throw new UserError('NETEM_NO_PATHS', `the shaped network in ${where} has no paths; give it at least one`);
  const names = new Set<string>();
  for (const p of spec.paths) {
    if (names.has(p.name)) throw new UserError('NETEM_DUPLICATE_PATH', `path "${p.name}" appears twice in ${where}; path names must be unique`);
    names.add(p.name);
  }
  if (!Number.isInteger(spec.mtu) || spec.mtu < 1280 || spec.mtu > 65535) {
    throw new UserError('NETEM_BAD_MTU', `mtu ${spec.mtu} in ${where} is out of range; use an integer from 1280 (IPv6 minimum) to 65535`);
  }
  for (const ph of spec.phases) {
    if (ph.path !== undefined && !names.has(ph.path)) {
      throw new UserError('NETEM_UNKNOWN_PATH', `a phase at ${ph.atMs} ms in ${where} names path "${ph.path}"; the paths are ${[...names].join(', ')}`);
    }
  }
}

class NamespaceTopology implements ShapedTopology {
  readonly runId: string;
  readonly namespaces: NamespaceNames;
  readonly addressing: PathAddressing[];
  readonly serverAddress: string;
  readonly clientAddresses: Readonly<Record<string, string>>;
  readonly mtu: number;
  readonly congestionControl: TcpCongestionControl;
  backendReason = '';
  readonly congestionControlNotes: string[] = [];
  private link: LinkBackend | undefined;
  private readonly createdNamespaces: string[] = [];
  private ownerRecord = false;
  private tearingDown: Promise<void> | undefined;
  private readonly unregister: () => void;

  constructor(
    readonly spec: ShapedSpec,
    runId: string,
    private readonly exec: CommandRunner,
  ) {
    this.runId = runId;
    this.namespaces = namespaceNames(runId);
    this.addressing = planAddressing(spec.paths);
    this.serverAddress = this.addressing[0]!.serverAddress;
    this.clientAddresses = Object.fromEntries(this.addressing.map((a) => [a.path, a.clientAddress]));
    this.mtu = spec.mtu;
    this.congestionControl = spec.congestionControl;
    // Registered before anything exists, so a signal in the middle of setup still tears down.
    this.unregister = registerTeardown({ teardown: () => this.teardown(), teardownSync: () => this.teardownSync() });
  }

  get backend(): Backend {
    return this.link?.name === 'userspace' ? 'userspace' : 'kernel';
  }

  /** The kernel link shapes a UDP GSO batch whole (see Topology.allowsUdpGso). */
  get allowsUdpGso(): boolean {
    return this.link?.name !== 'kernel';
  }

  get linkBackend(): LinkBackend['name'] {
    if (!this.link) throw new BenchError('NETEM_NOT_UP', 'topology has no link backend yet');
    return this.link.name;
  }

  async build(link: LinkBackend, reason: string): Promise<void> {
    this.backendReason = reason;
    writeOwnerRecord({
      runId: this.runId,
      pid: process.pid,
      namespaces: [this.namespaces.client, this.namespaces.server],
      createdAt: new Date().toISOString(),
    });
    this.ownerRecord = true;
    await ensureCongestionControl(this.exec, this.spec.congestionControl);
    for (const ns of [this.namespaces.client, this.namespaces.server]) {
      this.createdNamespaces.push(ns);
      await createNamespace(this.exec, ns);
      const r = await setNamespaceCongestionControl(this.exec, ns, this.spec.congestionControl);
      this.congestionControlNotes.push(`${ns}: ${r.detail}`);
      await disableTcpMetricsCache(this.exec, ns);
    }
    this.link = link;
    await link.up({
      runId: this.runId,
      clientNs: this.namespaces.client,
      serverNs: this.namespaces.server,
      paths: this.spec.paths,
      mtu: this.spec.mtu,
      addressing: this.addressing,
      exec: this.exec,
    });
    await configurePathAddresses(
      this.exec,
      { clientNs: this.namespaces.client, serverNs: this.namespaces.server, mtu: this.spec.mtu, congestionControl: this.spec.congestionControl },
      this.addressing,
    );
  }

  commandPrefix(side: Side): string[] {
    return inNamespace(side === 'client' ? this.namespaces.client : this.namespaces.server);
  }

  async applyPhase(phase: Phase): Promise<void> {
    if (!this.link || this.tearingDown) throw new BenchError('NETEM_NOT_UP', 'phase applied to a topology that is not up');
    await this.link.applyPhase(phase);
  }

  async restartRateTraces(): Promise<void> {
    if (!this.link || this.tearingDown) throw new BenchError('NETEM_NOT_UP', 'rate traces restarted on a topology that is not up');
    await this.link.restartRateTraces?.();
  }

  async routeVia(path: string): Promise<void> {
    if (!this.link || this.tearingDown) throw new BenchError('NETEM_NOT_UP', 'route changed on a topology that is not up');
    const addressing = this.addressing.find((a) => a.path === path);
    if (!addressing) throw new BenchError('NETEM_UNKNOWN_PATH', `no path "${path}" to route over; the paths are ${this.addressing.map((a) => a.path).join(', ')}`);
    await this.exec.run(defaultRouteCommand({ clientNs: this.namespaces.client, congestionControl: this.congestionControl }, addressing, 'replace'));
  }

  async counters(): Promise<LinkCounters> {
    return this.link && !this.tearingDown ? this.link.counters() : {};
  }

  async linkCpuMs(): Promise<number | undefined> {
    return this.link?.cpuMs && !this.tearingDown ? this.link.cpuMs() : undefined;
  }

  async drops(): Promise<DropEvent[]> {
    return this.link && !this.tearingDown ? this.link.drops() : [];
  }

  dropLog(): DropLogStatus {
    if (!this.link) return { kept: false, detail: 'the link is not up' };
    if (this.link.dropLogStatus) return this.link.dropLogStatus();
    return this.link.name === 'userspace'
      ? { kept: true, detail: 'the userspace link logs every packet it drops and delivers' }
      : { kept: false, detail: `the ${this.link.name} link keeps no drop log` };
  }

  async deliveries(sinceMs: number): Promise<Record<number, number[]> | undefined> {
    return this.link?.deliveries && !this.tearingDown ? this.link.deliveries(sinceMs) : undefined;
  }

  async linkProcess(reset: boolean): Promise<LinkProcessLoad | undefined> {
    const stats = (this.link as Partial<UserspaceLinkBackend> | undefined)?.stats;
    if (!stats || this.tearingDown) return undefined;
    const s = await stats.call(this.link, reset);
    return { cpuMs: s.cpuMs, latenessP99Ms: s.lateness.p99Ms };
  }

  async startCapture(capture: CaptureRequest): Promise<number> {
    if (!this.link?.startCapture || this.tearingDown) throw new BenchError('NETEM_NO_CAPTURE', `the ${this.link?.name ?? 'missing'} link backend cannot capture packets: only the userspace backend records them`);
    return this.link.startCapture(capture);
  }

  async stopCapture(): Promise<CaptureSummary> {
    if (!this.link?.stopCapture) throw new BenchError('NETEM_NO_CAPTURE', 'no capture is running');
    return this.link.stopCapture();
  }

  teardown(): Promise<void> {
    this.tearingDown ??= this.doTeardown();
    return this.tearingDown;
  }

  private async doTeardown(): Promise<void> {
    const errors: unknown[] = [];
    try {
      await this.link?.down();
    } catch (e) {
      errors.push(e);
    }
    // Deleting a namespace kills what still runs inside it and removes its devices.
    for (const ns of [...this.createdNamespaces].reverse()) {
      try {
        await deleteNamespace(this.exec, ns);
      } catch (e) {
        errors.push(e);
      }
    }
    if (this.ownerRecord) removeOwnerRecord(this.runId);
    this.unregister();
    if (errors.length > 0) {
      throw new BenchError('NETEM_TEARDOWN', `teardown of run ${this.runId} was incomplete (run \`bench doctor --cleanup\`): ${errors.map(String).join('; ')}`);
    }
  }

  /** Process 'exit': no await possible, so link processes are found by their argv marker and killed. */
  private teardownSync(): void {
    for (const p of findLinkProcesses()) {
      if (p.runId !== this.runId) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const ns of this.createdNamespaces) deleteNamespaceSync(ns);
    if (this.ownerRecord) removeOwnerRecord(this.runId);
  }
}

/**
 * Builds the network a scenario asks for. `network: none` gives loopback; a shaped network needs
 * root and leaves nothing behind if setup fails part way.
 */
export async function createTopology(spec: NetworkSpec, opts: TopologyOptions): Promise<Topology & Partial<ShapedTopology>> {
  if (spec.kind === 'none') return loopbackTopology();
  const where = opts.scenario ?? 'the scenario';
  if (!isRoot()) throw needsRootError(opts.scenario);
  validate(spec, where);
  const exec = opts.exec ?? getRunner();
  const runId = sanitizeRunId(opts.runId);
  const topo = new NamespaceTopology(spec, runId, exec);
  try {
    const { backend, reason } = opts.linkBackend
      ? { backend: opts.linkBackend, reason: `given: ${opts.linkBackend.name}` }
      : await selectBackend(spec, exec, opts.scenario, opts.seed, opts.kernelVerdict);
    await topo.build(backend, reason);
  } catch (e) {
    await topo.teardown().catch(() => undefined);
    throw e;
  }
  return topo;
}

/** Same as createTopology for a shaped spec, typed with the extras (namespaces, addressing ...). */
export async function createShapedTopology(spec: ShapedSpec, opts: TopologyOptions): Promise<ShapedTopology> {
  return (await createTopology(spec, opts)) as ShapedTopology;
}
