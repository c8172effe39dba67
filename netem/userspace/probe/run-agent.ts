/** Starts the UDP measurement agent inside a namespace and collects its JSON result. */
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';
import { nodeTsArgv } from '../../../src/util/node-child.ts';
import { BenchError } from '../../../src/util/errors.ts';
import type { AgentResult, ReflectArgs, SendArgs } from './udp-agent.ts';

export type { AgentResult, Arrival, ReflectArgs, SendArgs } from './udp-agent.ts';

const AGENT_PATH = fileURLToPath(new URL('./udp-agent.ts', import.meta.url));

export interface RunningAgent {
  result: Promise<AgentResult>;
  kill(): void;
}

/** Runs the agent in `ns`; for a reflector, resolves once it is listening. */
export async function startAgent(ns: string, args: ReflectArgs | SendArgs): Promise<RunningAgent> {
  const argv = ['ip', 'netns', 'exec', ns, ...nodeTsArgv(AGENT_PATH, [JSON.stringify(args)])];
  const child: ResultPromise<{ reject: false; maxBuffer: number }> = execa(argv[0]!, argv.slice(1), { reject: false, maxBuffer: 512 << 20 });
  const result = child.then((r) => {
    const last = String(r.stdout).trim().split('\n').pop() ?? '';
    if (r.exitCode !== 0 || !last.startsWith('{')) {
      throw new BenchError('NETEM_PROBE_FAILED', `UDP probe (${args.mode}) in ${ns} failed (exit ${r.exitCode}): ${String(r.stderr).trim().slice(-500)}`);
    }
    return JSON.parse(last) as AgentResult;
  });
  if (args.mode === 'reflect') {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      result.then(() => reject(new BenchError('NETEM_PROBE_FAILED', 'the UDP reflector ended before it was ready')), reject);
    });
  }
  return { result, kill: () => child.kill('SIGKILL') };
}
