/** Where the numbers were measured: machine, tool versions, emulator fidelity, the resolved scenario. */
import { escapeHtml, jsonForScript } from '../escape.ts';
import { formatBytes, formatNumber, formatPercent, formatValue } from '../format.ts';
import type { RunResult } from '../../results/model.ts';
import type { RawLogSummary } from '../../results/raw.ts';
import { PROTOCOL_NAMES, ReportContext } from '../context.ts';
import { SERVERS_NOT_RECORDED, serverDetails, serverText } from '../servers.ts';
import { describeChain } from './certificate.ts';

function row(label: string, value: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`;
}

/** Fidelity check names (FidelityReport.pass keys) per table row. */
const CHECK_ALIASES: Record<string, string[]> = {
  delay: ['delay'],
  jitter: ['jitter'],
  loss: ['loss'],
  rate: ['rate'],
  scheduler: ['lateness', 'scheduler'],
};

export function renderFidelity(result: RunResult): string | undefined {
  const f = result.environment.emulator.fidelity;
  if (!f) return undefined;
  const check = (key: string) => {
    const name = CHECK_ALIASES[key]!.find((k) => f.pass[k] !== undefined);
    if (name === undefined) return '';
    return f.pass[name] ? ' <span class="pass">pass</span>' : ' <span class="bad">FAIL</span>';
  };
  const rows = [
    ['One-way delay', formatValue(f.target.delayMs, 'ms'), formatValue(f.oneWayDelayMeanMs, 'ms') + ' mean', 'delay'],
    ['Jitter', formatValue(f.target.jitterMs, 'ms'), formatValue(f.jitterStdMs, 'ms') + ' std dev', 'jitter'],
    [
      'Loss',
      formatPercent(f.target.loss),
      `${formatPercent(f.loss)} (95% CI ${formatPercent(f.lossInterval95[0])}\u2013${formatPercent(f.lossInterval95[1])})`,
      'loss',
    ],
    ['Rate', formatValue(f.target.rateBps, 'bit/s'), formatValue(f.rateBps, 'bit/s'), 'rate'],
    ['Scheduler lateness p99', '', formatValue(f.schedulerLatenessP99Ms, 'ms'), 'scheduler'],
  ]
    .map(
      ([label, target, measured, key]) =>
        `<tr><th scope="row">${escapeHtml(label!)}</th><td class="num">${escapeHtml(target!)}</td><td class="num">${escapeHtml(measured!)}${check(key!)}</td></tr>`,
    )
    .join('');
  const shown = Object.values(CHECK_ALIASES).flat();
  const other = Object.entries(f.pass)
    .filter(([k]) => !shown.includes(k))
    .map(([k, ok]) => `${escapeHtml(k)}: ${ok ? '<span class="pass">pass</span>' : '<span class="bad">FAIL</span>'}`)
    .join(', ');
  return (
    `<table class="compact fidelity"><caption>Emulator fidelity, ${escapeHtml(f.backend)} backend, measured ${escapeHtml(f.measuredAt)}</caption>` +
    `<thead><tr><th></th><th class="num">Target</th><th class="num">Measured</th></tr></thead><tbody>${rows}</tbody></table>` +
    (other ? `<p class="section-note">Other checks: ${other}</p>` : '')
  );
}

function renderServers(result: RunResult): string {
  if (!result.servers) return escapeHtml(SERVERS_NOT_RECORDED);
  return new ReportContext(result)
    .protocols()
    .map((p) => {
      const server = result.servers![p];
      if (!server) return `${escapeHtml(PROTOCOL_NAMES[p])}: ${escapeHtml(SERVERS_NOT_RECORDED)}`;
      const d = serverDetails(server);
      const origin = `${escapeHtml(d.origin)}${d.command !== undefined ? ` <code>${escapeHtml(d.command)}</code>` : ''}`;
      return `${escapeHtml(PROTOCOL_NAMES[p])}: <strong>${escapeHtml(serverText(server))}</strong>, ${origin}; ${escapeHtml(d.notes.join('; '))}`;
    })
    .join('<br>');
}

export function renderEnvironment(result: RunResult, raw?: RawLogSummary): string {
  const env = result.environment;
  const emulator =
    env.emulator.backend === 'none' || !env.emulator.shaped
      ? 'none (network not shaped: plain loopback)'
      : `${env.emulator.backend} (shaped)`;
  const deps = Object.entries(result.tool.dependencies)
    .map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
    .join(', ');
  const rawLine = raw
    ? `${raw.events.toLocaleString('en-US')} events` +
      (raw.truncatedTail ? ', last line truncated (run was interrupted) and ignored' : '') +
      (raw.skipped > 0 ? `, ${raw.skipped} unreadable line${raw.skipped === 1 ? '' : 's'} skipped` : '')
    : 'not read';
  const table =
    `<table class="kv"><tbody>` +
    row('Node.js', escapeHtml(env.node)) +
    row('Platform / kernel', `${escapeHtml(env.platform)} ${escapeHtml(env.kernel)}`) +
    row('CPU', `${escapeHtml(env.cpu.model)} \u00d7 ${env.cpu.cores} cores`) +
    row('Memory', escapeHtml(formatBytes(env.memoryBytes))) +
    row('Link emulator', escapeHtml(emulator)) +
    row('Servers', renderServers(result)) +
    row('Certificate chain', env.certificate ? escapeHtml(describeChain(env.certificate)) : 'not recorded (servers bench did not run, or an older result)') +
    row('Tool', `${escapeHtml(result.tool.name)} ${escapeHtml(result.tool.version)}, result schema v${result.schemaVersion}`) +
    row('Dependencies', deps || '\u2014') +
    row('Command', `<code>${escapeHtml(result.run.argv.join(' '))}</code>`) +
    row('Run id / seed', `${escapeHtml(result.run.id)} / ${formatNumber(result.run.seed, 0).replace(/,/g, '')}`) +
    row('raw.jsonl', escapeHtml(rawLine)) +
    `</tbody></table>`;
  const fidelity =
    renderFidelity(result) ??
    `<p class="section-note">${
      env.emulator.shaped ? 'No emulator fidelity measurement in this result.' : 'Emulator fidelity: not applicable (network not shaped).'
    }</p>`;
  const scenario =
    `<details class="scenario"><summary>Resolved scenario (units converted, profiles expanded): ${escapeHtml(result.scenario.file)}</summary>` +
    `<pre><code>${escapeHtml(JSON.stringify(result.scenario, null, 2))}</code></pre></details>`;
  return `<div class="env-grid"><div>${table}</div><div>${fidelity}</div></div>${scenario}`;
}

/** The result itself, for readers who want to re-plot: embedded as inert JSON. */
export function embeddedResult(result: RunResult): string {
  return `<script type="application/json" id="bench-result">${jsonForScript(result)}</script>`;
}
