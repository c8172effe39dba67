/**
 * Number formatting shared by the HTML report and the text summary, so both print the same digits.
 * Three significant digits, no exponent notation, grouping for large values.
 */

/** Decimals that give three significant digits for |value| (0 for >= 100). */
export function decimalsFor(value: number): number {
  const a = Math.abs(value);
  if (!Number.isFinite(a) || a >= 100 || a === 0) return 0;
  if (a >= 10) return 1;
  if (a >= 1) return 2;
  return Math.min(6, 2 - Math.floor(Math.log10(a)));
}

export function formatNumber(value: number, decimals = decimalsFor(value)): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export interface UnitFormat {
  /** Scale applied before printing, e.g. 1e-6 for bit/s -> Mbit/s. */
  scale: number;
  suffix: string;
  /** Integers (counts) print without decimals. */
  integer?: boolean;
}

/** How each unit of result.json prints. */
export function unitFormat(unit: string, magnitude = 0): UnitFormat {
  switch (unit) {
    case 'ms':
      return { scale: 1, suffix: ' ms' };
    case 'req/s':
      return { scale: 1, suffix: ' req/s' };
    case 'bit/s': {
      if (magnitude >= 1e9) return { scale: 1e-9, suffix: ' Gbit/s' };
      if (magnitude >= 1e6) return { scale: 1e-6, suffix: ' Mbit/s' };
      if (magnitude >= 1e3) return { scale: 1e-3, suffix: ' kbit/s' };
      return { scale: 1, suffix: ' bit/s' };
    }
    case 'count':
      return { scale: 1, suffix: '', integer: true };
    case 'rtt':
      return { scale: 1, suffix: ' RTT' };
    case 'bytes':
      if (magnitude >= 1e6) return { scale: 1e-6, suffix: ' MB' };
      if (magnitude >= 1e3) return { scale: 1e-3, suffix: ' KB' };
      return { scale: 1, suffix: ' bytes', integer: true };
    default:
      return { scale: 1, suffix: unit ? ` ${unit}` : '' };
  }
}

/** The unit as a column header shows it ("p99 (ms)"); empty where the cells keep their own unit or need none. */
export function headerUnit(unit: string): string {
  return unit === 'ms' ? 'ms' : unit === 'rtt' ? 'RTT' : unit === 'streams' ? 'streams' : unit === 'Mbit/s' ? 'Mbit/s' : '';
}

/** "12.3 ms". */
export function formatValue(value: number, unit: string): string {
  const f = unitFormat(unit, Math.abs(value));
  const v = value * f.scale;
  return formatNumber(v, f.integer && Number.isInteger(v) ? 0 : decimalsFor(v)) + f.suffix;
}

/**
 * A median with its 95% interval, all in the median's unit and decimals:
 * { value: "12.3 ms", interval: "CI 11.8-12.9, 5 reps" } -> "12.3 ms (CI 11.8-12.9, 5 reps)".
 */
export function formatEstimate(
  estimate: { median: number; ci95?: [number, number]; n: number; intervalKind?: 'ci' | 'range' },
  unit: string,
): { value: string; interval: string; text: string } {
  const f = unitFormat(unit, Math.abs(estimate.median));
  const m = estimate.median * f.scale;
  const decimals = f.integer && Number.isInteger(m) ? 0 : decimalsFor(m);
  const value = formatNumber(m, decimals) + f.suffix;
  const reps = `${estimate.n} rep${estimate.n === 1 ? '' : 's'}`;
  let interval = reps;
  if (estimate.ci95 && estimate.n > 1) {
    const [lo, hi] = estimate.ci95.map((x) => formatNumber(x * f.scale, decimals));
    const label = estimate.intervalKind === 'range' ? 'range' : 'CI';
    // A dash after a negative bound would read as a minus sign.
    const sep = lo!.startsWith('-') || hi!.startsWith('-') ? ' to ' : '\u2013';
    interval = lo === hi ? `${label} ${lo}, ${reps}` : `${label} ${lo}${sep}${hi}, ${reps}`;
  }
  return { value, interval, text: `${value} (${interval})` };
}

/**
 * formatEstimate for a table column whose header names the unit (headerUnit): the value without
 * its unit, except bit/s, whose prefix (kbit/s, Mbit/s) varies from cell to cell.
 */
export function formatEstimateInColumn(
  estimate: { median: number; ci95?: [number, number]; n: number; intervalKind?: 'ci' | 'range' },
  unit: string,
): { value: string; interval: string } {
  const f = formatEstimate(estimate, unit);
  const suffix = unitFormat(unit, Math.abs(estimate.median)).suffix;
  const bare = unit !== 'bit/s' && suffix !== '' && f.value.endsWith(suffix);
  return { value: bare ? f.value.slice(0, -suffix.length) : f.value, interval: f.interval };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${formatNumber(v, i === 0 ? 0 : decimalsFor(v))} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${formatNumber(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${formatNumber(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatPercent(fraction: number): string {
  return `${formatNumber(fraction * 100, decimalsFor(fraction * 100))}%`;
}

/** A configured value as the user wrote it: no padding zeros ("70 ms", "12 Mbit/s", "1%"). */
export function formatSetting(value: number, unit: string): string {
  if (unit === '%') return `${trim(value * 100)}%`;
  const f = unitFormat(unit, Math.abs(value));
  return trim(value * f.scale) + f.suffix;
}

function trim(v: number): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: 4 });
}
