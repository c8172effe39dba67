/**
 * The OS edge of the exact head-of-line analysis: reads a cell's capture and the run's key log,
 * and hands them to the pure analysis (exact-hol.ts).
 */
import { readFile } from 'node:fs/promises';
import { readPcapng } from '../../netem/userspace/pcapng.ts';
import type { ExactHol } from '../results/details.ts';
import { parseKeylog } from '../util/keylog.ts';
import { exactHolFromCapture, type CellCaptureInput } from './exact-hol.ts';
import { linkPackets } from './link-packets.ts';

export async function exactHolFromFiles(
  files: { capture: string; keylog: string },
  input: Omit<CellCaptureInput, 'packets' | 'keylog'>,
): Promise<ExactHol | { unavailable: string }> {
  const capture = await readFile(files.capture).catch(() => undefined);
  if (!capture) return { unavailable: `its capture ${files.capture} could not be read` };
  const keylog = await readFile(files.keylog, 'utf8').then(parseKeylog, () => undefined);
  return exactHolFromCapture({ ...input, packets: linkPackets(readPcapng(capture)), keylog });
}
