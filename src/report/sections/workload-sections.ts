/**
 * Registers the sections of the workloads whose point is a protocol difference: connection setup
 * (handshake), head-of-line blocking (multiplex), page loads (page) and moves (migration).
 * Imported once by html.ts.
 */
import { renderHandshakeSection } from './handshake.ts';
import { renderMigrationSection } from './migration.ts';
import { renderMultiplexSection } from './multiplex.ts';
import { renderPageSection } from './page.ts';
import { registerWorkloadSection } from './registry.ts';

registerWorkloadSection('handshake', renderHandshakeSection);
registerWorkloadSection('multiplex', renderMultiplexSection);
registerWorkloadSection('page', renderPageSection);
registerWorkloadSection('migration', renderMigrationSection);
