/** Importing this module registers every workload with the registry. */
import './requests.ts';
import './handshake.ts';
import './multiplex.ts';
import './page.ts';
import './migration.ts';
import './load.ts';
import './throughput.ts';
