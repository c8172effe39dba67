/**
 * The `bench` command line. Only this module's main() hands exit codes to the process; commands
 * return them, all from src/util/exit-codes.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { BenchError, UserError } from './util/errors.ts';
import { EXIT_CODES } from './util/exit-codes.ts';
import { parseBackendOption, parseDurationOption, parsePercentOption, parsePort, parsePositiveInt, parseProtocol, parseProtocolList } from './cli/options.ts';
import { MAX_DELAY_MS } from '../servers/handler.ts';
import { DEFAULT_AB_MAX_REGRESSION, DEFAULT_MAX_REGRESSION, percentText } from './gate/defaults.ts';
import { DEFAULT_TLS_KEY, MAX_INTERMEDIATES, TLS_KEY_TYPES } from './tls/key-types.ts';


function buildProgram(): Command {
  const program = new Command('bench')
    .description('Measure how HTTP/1.1, HTTP/2 and HTTP/3 behave on shaped networks.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExamples:\n  $ bench run scenarios/smoke.yaml            # all three protocols on a shaped link, then open the report\n  $ bench report reports/smoke/<timestamp>     # rebuild a report\n  $ bench serve --port 8443                    # matched servers for curl, h2load or a browser\n  $ bench get --protocol h3 -k https://localhost:8444/health\n  $ bench doctor                               # what this machine can do\n\nRun `bench <command> --help` for every option of a command.',
    );

  program
    .command('run')
    .description('Run a scenario: matched H1/H2/H3 servers, a shaped network, workloads, and a report.')
    .argument('<scenario>', 'scenario YAML file, e.g. scenarios/smoke.yaml')
    .option('-o, --out <dir>', 'output directory (default: reports/<scenario>/<timestamp>)')
    .option('-r, --repetitions <n>', 'override the scenario\'s repetitions', (v) => parsePositiveInt(v, '--repetitions', { max: 1000 }))
    .option('-p, --protocols <list>', 'comma-separated protocols to run, e.g. h2,h3', (v) => parseProtocolList(v))
    .option('--seed <n>', 'override the scenario\'s random seed', (v) => parsePositiveInt(v, '--seed', { min: 0 }))
    .option('--network <labels>', 'run only these network variants of a sweep, e.g. rtt=100ms (comma-separated)')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--baseline <result>', 'gate against this result.json or run directory: exit 1 on a significant regression beyond --max-regression')
    .option('--max-regression <percent>', `with --baseline: the largest tolerated change of any headline metric (default ${percentText(DEFAULT_MAX_REGRESSION)})`, (v) => parsePercentOption(v, '--max-regression'))
    .option('--junit <file>', 'write the gate\'s checks as JUnit XML')
    .option('--summary <file>', 'write the gate\'s checks as Markdown (default: appended to $GITHUB_STEP_SUMMARY when set)')
    .option('--capture', 'per cell, a pcapng of what the link received and delivered (drops marked) in captures/, and keys.log to decrypt its TLS and QUIC (userspace link backend only)')
    .option('--server-delay <duration>', 'the built-in servers wait this long before every response: an injected regression to calibrate the gate', (v) => parseDurationOption(v, '--server-delay', { maxMs: MAX_DELAY_MS }))
    .addHelpText(
      'after',
      '\nExamples:\n  $ bench run scenarios/smoke.yaml\n  $ bench run scenarios/smoke-loopback.yaml --repetitions 10 --baseline main/result.json --junit gate.xml\n  $ bench run scenarios/hol-loss.yaml --protocols h2,h3 --repetitions 5 --out /tmp/hol\n  $ bench run scenarios/smoke.yaml --json --quiet > summary.json\n  $ bench run scenarios/smoke.yaml --protocols h2 --capture    # then: tshark -r <run>/captures/<cell>.pcapng -o tls.keylog_file:<run>/keys.log',
    )
    .action(async (file: string, opts) => {
      const { runCommand } = await import('./commands/run.ts');
      exitCode = await runCommand(file, opts);
    });

  program
    .command('report')
    .description('Rebuild report.html (and summary.md) of a run directory from its result.json and raw.jsonl.')
    .argument('<run-dir>', 'a directory written by `bench run`, e.g. reports/smoke/2026-11-29T10-00-00')
    .addHelpText('after', '\nExample:\n  $ bench report reports/smoke/2026-11-29T10-00-00')
    .action(async (dir: string) => {
      const { reportCommand } = await import('./commands/report.ts');
      exitCode = await reportCommand(dir);
    });

  program
    .command('compare')
    .description('Compare runs of one scenario: per metric the change with its 95% interval and a verdict; writes compare.html and compare.md.')
    .argument('<runs...>', 'result.json files or run directories; the first is the baseline')
    .option('-l, --label <name>', 'a name per run, in the order given (repeat the option); default: scenario, date and commit', (v: string, prev: string[] = []) => [...prev, v])
    .option('-o, --out <dir>', 'where to write compare.html and compare.md (default: reports/compare/<timestamp>)')
    .option('--force', 'compare runs of different scenarios anyway')
    .option('--json', 'print the comparison as JSON on stdout')
    .option('-q, --quiet', 'no table on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bench compare reports/smoke/2026-11-28T10-00-00 reports/smoke/2026-11-29T10-00-00\n  $ bench compare main/result.json pr/result.json --label main --label pr --out /tmp/cmp',
    )
    .action(async (inputs: string[], opts) => {
      const { compareCommand } = await import('./commands/compare.ts');
      exitCode = await compareCommand(inputs, opts);
    });

  program
    .command('gate')
    .description('The CI gate over two results made elsewhere: the candidate\'s scenario assertions, and every headline metric against the baseline. Exit 1 on an error-level failure.')
    .argument('<baseline>', 'result.json or run directory of the baseline')
    .argument('<candidate>', 'result.json or run directory of the candidate')
    .option('--max-regression <percent>', `the largest tolerated change of any headline metric (default ${percentText(DEFAULT_MAX_REGRESSION)})`, (v) => parsePercentOption(v, '--max-regression'))
    .option('--junit <file>', 'write the checks as JUnit XML')
    .option('--summary <file>', 'write the checks as Markdown (default: appended to $GITHUB_STEP_SUMMARY when set)')
    .option('--force', 'gate runs of different scenarios anyway')
    .addHelpText('after', '\nExamples:\n  $ bench gate baseline/result.json reports/smoke-loopback/2026-11-29T10-00-00 --junit gate.xml')
    .action(async (baseline: string, candidate: string, opts) => {
      const { gateCommand } = await import('./commands/gate.ts');
      exitCode = await gateCommand(baseline, candidate, opts);
    });

  program
    .command('ab')
    .description('Baseline and candidate builds interleaved in one run (A B B A ...), one result per build, then the gate. Exit 1 on an error-level regression.')
    .argument('<scenario>', 'scenario YAML file, e.g. scenarios/ci-gate.yaml')
    .requiredOption('--baseline-build <dir>', 'a checkout of bench (with node_modules) whose src/bin.mjs runs the baseline, e.g. a git worktree of main')
    .option('--candidate-build <dir>', 'a checkout of bench for the candidate (default: this one)')
    .option('--pairs <n>', 'single-repetition runs of each build (default 10; at least 5 for a verdict)', (v) => parsePositiveInt(v, '--pairs', { max: 1000 }))
    .option('-o, --out <dir>', 'output directory (default: reports/<scenario>/ab-<timestamp>)')
    .option('--max-regression <percent>', `the largest tolerated change of any headline metric (default ${percentText(DEFAULT_AB_MAX_REGRESSION)})`, (v) => parsePercentOption(v, '--max-regression'))
    .option('--junit <file>', 'write the checks as JUnit XML')
    .option('--summary <file>', 'write the checks as Markdown (default: appended to $GITHUB_STEP_SUMMARY when set)')
    .option('--candidate-server-delay <duration>', "the candidate's built-in servers wait this long before every response: an injected regression to calibrate the gate", (v) => parseDurationOption(v, '--candidate-server-delay', { maxMs: MAX_DELAY_MS }))
    .option('-q, --quiet', 'no progress lines')
    .addHelpText(
      'after',
      '\nExamples:\n  $ git worktree add ../bench-main main && (cd ../bench-main && npm ci)\n  $ bench ab scenarios/ci-gate.yaml --baseline-build ../bench-main --junit gate.xml\n  $ bench ab scenarios/calibrate-loopback.yaml --baseline-build . --candidate-server-delay 1ms --pairs 10',
    )
    .action(async (file: string, opts) => {
      const { abCommand } = await import('./commands/ab.ts');
      exitCode = await abCommand(file, opts);
    });

  program
    .command('serve')
    .description('Start the matched H1/H2/H3 servers standalone, for a browser, curl or h2load.')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'first port: h1 on PORT, h2 on PORT+1 (TCP), h3 on PORT+1 (UDP)', (v) => parsePort(v), 8443)
    .option('-p, --protocols <list>', 'protocols to serve', (v) => parseProtocolList(v))
    .option('--cert-dir <dir>', 'write cert.pem (the chain the servers present), key.pem and ca.pem (its root) here (default: a temporary directory)')
    .addOption(new Option('--tls-key <type>', 'key type of the certificate chain').choices(TLS_KEY_TYPES).default(DEFAULT_TLS_KEY))
    .option('--intermediates <n>', `intermediate CAs between the root and the leaf, 0..${MAX_INTERMEDIATES}`, (v) => parsePositiveInt(v, '--intermediates', { min: 0, max: MAX_INTERMEDIATES }), 0)
    .addHelpText(
      'after',
      '\nExamples:\n  $ bench serve --port 8443\n  $ curl --cacert <ca.pem> https://localhost:8443/bytes/1000\n  $ bench serve --tls-key rsa-4096 --intermediates 3   # a chain that overflows QUIC\'s first flight\n  $ h2load -n 1000 -c 10 https://127.0.0.1:8444/bytes/1000',
    )
    .action(async (opts) => {
      const { serveCommand } = await import('./commands/serve.ts');
      exitCode = await serveCommand(opts);
    });

  program
    .command('get')
    .description('One request over a chosen protocol; prints status, headers and a timing breakdown.')
    .argument('<url>', 'https URL, e.g. https://127.0.0.1:8443/bytes/1000')
    .addOption(
      new Option('--protocol <protocol>', 'h1, h2 or h3').default('h2').argParser((v) => parseProtocol(v)),
    )
    .option('-k, --insecure', 'do not verify the server certificate')
    .option('--cacert <file>', 'trust this PEM CA certificate (e.g. the ca.pem `bench serve` printed)')
    .option('--resume', 'connect a second time resuming the first session, and show both timings')
    .option('--0rtt', 'with --resume and h3: send the second request as 0-RTT early data')
    .option('-o, --output <file>', 'write the body to a file')
    .option('--json', 'print the records as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bench get --protocol h3 --cacert ca.pem https://localhost:8444/bytes/10000\n  $ bench get --protocol h1 -k --resume https://127.0.0.1:8443/health',
    )
    .action(async (url: string, opts) => {
      const { getCommand } = await import('./commands/get.ts');
      exitCode = await getCommand(url, opts);
    });

  program
    .command('doctor')
    .description('What this machine can do: root, namespaces, TUN, tc netem, peers. Exits 4 when a required check fails.')
    .option('--measure', 'measure the link emulator\'s fidelity (delay, jitter, loss, rate, lateness): the userspace link, and the kernel link when tc netem works')
    .option('--backend <name>', 'with --measure: measure only this link (kernel or userspace)', (v) => parseBackendOption(v))
    .option('--cleanup', 'remove namespaces, devices and processes left by a killed run')
    .option('--json', 'print the findings as JSON')
    .addHelpText('after', '\nExamples:\n  $ bench doctor\n  $ sudo bench doctor --measure --json\n  $ sudo bench doctor --measure --backend kernel\n  $ sudo bench doctor --cleanup')
    .action(async (opts) => {
      const { doctorCommand } = await import('./commands/doctor.ts');
      exitCode = await doctorCommand(opts);
    });

  return program;
}

let exitCode: number = EXIT_CODES.ok;

export async function main(argv: string[]): Promise<number> {
  exitCode = EXIT_CODES.ok;
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its message; help and version are not errors.
    return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.userMistake;
  }
  if (error instanceof UserError) {
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT_CODES.userMistake;
  }
  const runDir = (error as { runDir?: string })?.runDir;
  const message = error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`internal error: ${message}\n`);
  if (runDir) process.stderr.write(`partial results kept in ${runDir}\n`);
  return EXIT_CODES.internal;
}
