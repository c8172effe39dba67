/**
 * Where a V8 CPU profile's time went: self time by function and by file, biggest first, and the
 * share of the profile's time; `--cpu-prof` directories hold one file per process and thread.
 *
 *   node --import tsx test/perf/cpuprofile.ts <file.cpuprofile | dir> [--top 40] [--per N] [--callers REGEX]
 *
 * `--callers REGEX`: instead, the heaviest call paths ending in a function whose name matches.
 * `--per N`: also the time per unit of work (e.g. the requests of the run), in µs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  us: number;
}

/** Self time (µs) of each node: the sampling intervals that landed on it. */
function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; the gap after it is what it stands for.
    const us = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + us);
  }
  return self;
}

/** A short place for a script URL: the path inside node_modules, the project, or node's own library. */
function shortFile(url: string): string {
  if (!url) return '(native)';
  const inModules = url.lastIndexOf('node_modules/');
  if (inModules >= 0) return url.slice(inModules + 'node_modules/'.length);
  const inProject = url.search(/\/(src|servers|netem|test)\//);
  if (inProject >= 0) return url.slice(inProject + 1);
  return url.replace(/^file:\/\//, '');
}

/** The heaviest call paths (up to `depth` callers) that end in a function whose name matches. */
export function callers(profile: Profile, leaf: RegExp, depth = Number(process.env.CALLER_DEPTH ?? 8)): SelfTime[] {
  const self = selfTimes(profile);
  const parent = new Map<number, ProfileNode>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const paths = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0 || !leaf.test(node.callFrame.functionName)) continue;
    const frames: string[] = [];
    for (let n: ProfileNode | undefined = byId.get(node.id); n && frames.length < depth; n = parent.get(n.id)) {
      frames.push(`${n.callFrame.functionName || '(anonymous)'} ${shortFile(n.callFrame.url)}`);
    }
    const key = frames.join(' <- ');
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  return [...paths].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us);
}

export function summarise(profile: Profile): { totalUs: number; byFunction: SelfTime[]; byFile: SelfTime[] } {
  const self = selfTimes(profile);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = shortFile(url);
    const fn = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us);
  return { totalUs: profile.endTime - profile.startTime, byFunction: sorted(byFunction), byFile: sorted(byFile) };
}

function main(): void {
  const target = process.argv[2];
  if (!target) throw new Error('usage: cpuprofile.ts <file.cpuprofile | dir> [--top N] [--per N]');
  const option = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const top = option('top') ?? 40;
  const per = option('per');
  const callersOf = process.argv.includes('--callers') ? new RegExp(process.argv[process.argv.indexOf('--callers') + 1]!) : undefined;
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(target, f))
    : [target];
  for (const file of files) {
    if (callersOf) {
      console.log(`\n${path.basename(file)}: call paths ending in ${callersOf}`);
      for (const c of callers(JSON.parse(readFileSync(file, 'utf8')) as Profile, callersOf).slice(0, top)) console.log(`${(c.us / 1000).toFixed(1).padStart(8)} ms  ${c.name}`);
      continue;
    }
    const { totalUs, byFunction, byFile } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const busyUs = byFunction.filter((f) => !f.name.startsWith('(idle)')).reduce((a, f) => a + f.us, 0);
    console.log(`\n${path.basename(file)}: ${(totalUs / 1000).toFixed(0)} ms profiled, ${(busyUs / 1000).toFixed(0)} ms not idle`);
    const line = (s: SelfTime) =>
      `${(s.us / 1000).toFixed(1).padStart(8)} ms ${((100 * s.us) / busyUs).toFixed(1).padStart(5)}%${per ? `${(s.us / per).toFixed(2).padStart(8)} µs/unit` : ''}  ${s.name}`;
    console.log('-- self time by file');
    for (const s of byFile.slice(0, top)) console.log(line(s));
    console.log('-- self time by function');
    for (const s of byFunction.slice(0, top)) console.log(line(s));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
