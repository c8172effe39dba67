/**
 * Registers the sections of the workloads whose point is a protocol difference: connection setup
 * (handshake), head-of-line blocking (multiplex) and page loads (page). Imported once by html.ts.
 */
import { renderHandshakeSection } from './handshake.ts';
import { renderMultiplexSection } from './multiplex.ts';
import { renderPageSection } from './page.ts';
import { registerWorkloadSection } from './registry.ts';

registerWorkloadSection('handshake', renderHandshakeSection);
registerWorkloadSection('multiplex', renderMultiplexSection);
registerWorkloadSection('page', renderPageSection);
