/**
 * Registers the sections of the workloads whose point is a protocol difference: connection setup
 * (handshake), head-of-line blocking (multiplex), page loads (page), moves (migration), load
 * (latency against throughput) and bulk downloads (throughput).
 * Imported once by html.ts.
 */
import { renderHandshakeSection } from './handshake.ts';
import { renderLoadSection } from './load.ts';
import { renderMigrationSection } from './migration.ts';
import { renderMultiplexSection } from './multiplex.ts';
import { renderPageSection } from './page.ts';
import { registerWorkloadSection } from './registry.ts';
import { renderThroughputSection } from './throughput.ts';

registerWorkloadSection('handshake', renderHandshakeSection);
registerWorkloadSection('multiplex', renderMultiplexSection);
registerWorkloadSection('page', renderPageSection);
registerWorkloadSection('migration', renderMigrationSection);
registerWorkloadSection('load', renderLoadSection);
registerWorkloadSection('throughput', renderThroughputSection);
