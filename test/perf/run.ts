/**
 * `npm run perf`: every benchmark, one after another (never at once: they would measure each
 * other). Each prints ratios against a peer measured in the same run (veth for the userspace link;
 * node:http2 and Caddy's HTTP/3 for our HTTP/3; Chromium for our HTTP/3 client and server). `npm run perf -- link` runs one of them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeTsArgv } from '../../src/util/node-child.ts';

const BENCHMARKS: Record<string, { file: string; what: string }> = {
  link: { file: './link.ts', what: 'userspace link capacity (packets/s at p99 lateness < 1 ms) next to a plain veth path' },
  h3: { file: './h3.ts', what: 'HTTP/3 requests/s and 10 MB goodput next to node:http2 and Caddy HTTP/3' },
  'h3-link': { file: './h3-link.ts', what: 'HTTP/3 behind a loss-free 100 ms link: p50 next to our HTTP/2 and Caddy HTTP/3, sender RTT, CPU per request' },
  load: { file: './load.ts', what: 'our H1/H2 clients\' most requests/s on loopback (100 x 1 KiB in flight), on one client worker and on several, next to h2load and autocannon, against our servers and Caddy' },
  scale: { file: './scale.ts', what: 'our client holding 1,000 HTTP/1.1 connections and 10,000 HTTP/2 and HTTP/3 streams at once: errors, RSS, open file descriptors' },
  chromium: { file: './chromium.ts', what: 'Chromium as the reference HTTP/3 client behind a loss-free 100 ms link: 100 x 10 KB from our HTTP/3 server and Caddy\'s, next to our client' },
};

// `npm run perf -- h3-link --pairs 3 --json`: names first, then options passed to each benchmark.
const cliArgs = process.argv.slice(2);
if (cliArgs[0] === '--help' || cliArgs[0] === '-h') {
  console.log('npm run perf -- [name ...] [options passed to each benchmark, e.g. --json]\n\nBenchmarks (all, one after another, when none is named):');
  for (const [name, bench] of Object.entries(BENCHMARKS)) console.log(`  ${name.padEnd(9)} ${bench.what}`);
  process.exit(0);
}
const firstOption = cliArgs.findIndex((a) => a.startsWith('-'));
const wanted = firstOption < 0 ? cliArgs : cliArgs.slice(0, firstOption);
const options = firstOption < 0 ? [] : cliArgs.slice(firstOption);
const unknown = wanted.filter((w) => !(w in BENCHMARKS));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const [name, bench] of Object.entries(BENCHMARKS)) {
  if (wanted.length && !wanted.includes(name)) continue;
  // With --json, stdout carries only each benchmark's JSON; the header goes to stderr.
  (options.includes('--json') ? console.error : console.log)(`\n=== ${name}: ${bench.what}`);
  const [node, ...args] = nodeTsArgv(fileURLToPath(new URL(bench.file, import.meta.url)));
  const r = spawnSync(node!, [...args, ...options], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
