/** The gate's verdicts for people (terminal), CI step summaries (Markdown) and test reporters (JUnit XML). */
import { formatP, type GateCheck, type GateEvaluation, isBlocking, significanceText } from './evaluate.ts';

const COLUMNS = ['level', 'verdict', 'assertion', 'network', 'expected', 'found', 'interval', 'p'] as const;

function cells(c: GateCheck): Record<(typeof COLUMNS)[number], string> {
  return {
    level: c.assertion.level,
    verdict: c.verdict + (isBlocking(c) ? ' (blocking)' : ''),
    assertion: c.assertion.text,
    network: c.network,
    expected: c.expected || '\u2014',
    found: c.found + (c.note ? ` \u2014 ${c.note}` : ''),
    interval: c.interval ?? '\u2014',
    p: c.p === undefined ? '\u2014' : `${formatP(c.p)}` + (c.adjustedP === undefined ? '' : ` (Holm-adjusted ${formatP(c.adjustedP)})`),
  };
}

export function gateHeadline({ checks }: GateEvaluation): string {
  const blocking = checks.filter(isBlocking).length;
  const warned = checks.filter((c) => c.assertion.level === 'warn' && c.verdict === 'fail').length;
  const inconclusive = checks.filter((c) => c.verdict === 'inconclusive').length;
  const passed = checks.filter((c) => c.verdict === 'pass').length;
  const noVerdict = checks.filter((c) => !isBlocking(c) && !['pass', 'fail', 'inconclusive'].includes(c.verdict)).length;
  const head = blocking > 0 ? `gate FAILED: ${blocking} error-level check(s) failed` : 'gate passed';
  return (
    `${head}; ${passed} of ${checks.length} checks passed, ${warned} warning(s), ${inconclusive} inconclusive (within noise)` +
    (noVerdict ? `, ${noVerdict} without a verdict (too few samples or repetitions, not run, no baseline)` : '')
  );
}

export function renderGateText(evaluation: GateEvaluation): string {
  const lines = [gateHeadline(evaluation), significanceText(evaluation.family)];
  // Failures first, then what needs a look, then passes.
  const rank = (c: GateCheck) => (isBlocking(c) ? 0 : c.verdict === 'fail' ? 1 : c.verdict === 'pass' ? 3 : 2);
  for (const c of [...evaluation.checks].sort((a, b) => rank(a) - rank(b))) {
    const t = cells(c);
    lines.push(`  ${t.level.padEnd(5)} ${t.verdict.padEnd(20)} ${t.assertion} [${t.network}]`);
    lines.push(`        expected ${t.expected}; found ${t.found}; interval ${t.interval}; p ${t.p}`);
  }
  return lines.join('\n');
}

export function renderGateMarkdown(evaluation: GateEvaluation, title = 'bench gate'): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const icon = (c: GateCheck) => (isBlocking(c) ? '\u274c' : c.verdict === 'fail' ? '\u26a0\ufe0f' : c.verdict === 'pass' ? '\u2705' : '\u2754');
  const lines = [
    `## ${title}`,
    '',
    gateHeadline(evaluation),
    '',
    esc(significanceText(evaluation.family)),
    '',
    `| | ${COLUMNS.join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
  ];
  for (const c of evaluation.checks) {
    const t = cells(c);
    lines.push(`| ${icon(c)} | ${COLUMNS.map((k) => esc(t[k])).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

/**
 * One testcase per check; a blocking check is a <failure>, a failed warn-level check <skipped> with
 * its message. The statistic and family are a suite property and part of every message.
 */
export function renderJUnit(evaluation: GateEvaluation, suite = 'bench gate'): string {
  const { checks } = evaluation;
  const significance = significanceText(evaluation.family);
  const failures = checks.filter(isBlocking).length;
  const skipped = checks.filter((c) => !isBlocking(c) && c.verdict !== 'pass').length;
  const cases = checks.map((c) => {
    const t = cells(c);
    const detail = `expected ${t.expected}; found ${t.found}; interval ${t.interval}; p ${t.p}; ${significance}`;
    const body = isBlocking(c)
      ? `<failure message="${xml(`${c.verdict}: ${detail}`)}">${xml(`${c.assertion.text} on ${c.network}\n${detail}`)}</failure>`
      : c.verdict === 'pass'
        ? ''
        : `<skipped message="${xml(`${c.assertion.level} ${c.verdict}: ${detail}`)}"/>`;
    return `  <testcase classname="${xml(`bench.${c.network}`)}" name="${xml(c.assertion.text)}">${body}</testcase>`;
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuite name="${xml(suite)}" tests="${checks.length}" failures="${failures}" skipped="${skipped}">\n` +
    `  <properties><property name="significance" value="${xml(significance)}"/></properties>\n` +
    `${cases.join('\n')}\n</testsuite>\n`
  );
}
