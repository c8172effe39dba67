/** Public API of the network layer. */
export { createTopology, createShapedTopology, loopbackTopology, isRoot, needsRootError, LOOPBACK_ADDRESS } from './topology.ts';
export type { KernelVerdict, ShapedTopology, TopologyOptions } from './topology.ts';
export type { LinkBackend, LinkUpContext, PathAddressing } from './backend.ts';
export { planAddressing, SERVER_ADDRESS, LINK_PROCESS_MARKER } from './backend.ts';
export { installTeardownHandlers, cleanupLeftovers, formatCleanupReport, registerTeardown, removeRunsOfSync, runAllTeardowns } from './cleanup.ts';
export type { CleanupReport } from './cleanup.ts';
export { createKernelBackend, createVethBackend } from './kernel/backend.ts';
export { probeNetem, probeQdiscs } from './kernel/probe.ts';
export type { ProbeResult } from './kernel/probe.ts';
export { ExecaRunner, RecordingRunner, getRunner, setRunner } from './exec.ts';
export type { CommandRunner, CommandRecord } from './exec.ts';
export { NETNS_PREFIX, namespaceNames } from './namespaces.ts';
export { runDoctor, formatDoctorReport } from './doctor.ts';
export type { DoctorCheck, DoctorReport, DoctorOptions } from './doctor.ts';
