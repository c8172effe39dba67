import { describe, expect, it } from 'vitest';
import { describeProblem, parseDuration, parsePercent, parseRate, parseSize, type Parsed } from '../../src/scenario/units.ts';

function value(p: Parsed<number>): number {
  if (!p.ok) throw new Error(describeProblem(p.problem));
  return p.value;
}
function problem(p: Parsed<number>): string {
  if (p.ok) throw new Error(`expected a problem, got ${p.value}`);
  return describeProblem(p.problem);
}

describe('parseDuration (milliseconds)', () => {
  it.each([
    ['50ms', 50],
    ['1.5s', 1500],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['.5s', 500],
    ['50 ms', 50],
    ['0', 0],
    [0, 0],
  ])('%j -> %d', (input, ms) => expect(value(parseDuration(input))).toBe(ms));

  it.each([
    ['5sec', '"5sec" has an unknown unit `sec`, expected a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m). Did you mean `5s`?'],
    [50, '50 has no unit, expected a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m). Write `50ms` or `50s`.'],
    ['-5ms', '"-5ms" is negative, expected a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m), zero or more. Remove the minus sign.'],
    ['fast', '"fast" is not a duration, expected a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m). Write it like `50ms` or `1.5s`.'],
    [true, 'got true, expected a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m). Write it like `50ms`.'],
  ])('%j is rejected', (input, msg) => expect(problem(parseDuration(input))).toBe(msg));
});

describe('parsePercent (fraction)', () => {
  it.each([
    ['1.5%', 0.015],
    ['0%', 0],
    ['100%', 1],
    ['0', 0],
    [0, 0],
    ['25 %', 0.25],
  ])('%j -> %d', (input, f) => expect(value(parsePercent(input))).toBeCloseTo(f, 12));

  it.each([
    [0.02, '0.02 has no % sign, expected a percentage from 0% to 100% (e.g. 1.5%). Write `2%` (percentages need a % sign).'],
    [5, '5 has no % sign, expected a percentage from 0% to 100% (e.g. 1.5%). Write `5%` (percentages need a % sign).'],
    ['0.5', '"0.5" has no % sign, expected a percentage from 0% to 100% (e.g. 1.5%). Write `50%` (percentages need a % sign).'],
    ['150%', '"150%" is above 100%, expected a percentage from 0% to 100% (e.g. 1.5%). Use a value between 0% and 100%.'],
    ['-1%', '"-1%" is negative, expected a percentage from 0% to 100% (e.g. 1.5%). Use a value between 0% and 100%.'],
    ['2pc', '"2pc" has an unknown unit `pc`, expected a percentage from 0% to 100% (e.g. 1.5%). Write `2%`.'],
  ])('%j is rejected', (input, msg) => expect(problem(parsePercent(input))).toBe(msg));
});

describe('parseRate (bits per second, k = 1000)', () => {
  it.each([
    ['20mbit', 20e6],
    ['1.5Mbit', 1.5e6],
    ['500kbit', 500e3],
    ['1gbit', 1e9],
    ['20Mbps', 20e6],
    ['20mbps', 20e6],
    ['100kbps', 100e3],
    ['8Mb/s', 8e6],
    ['10MB/s', 80e6],
    ['1KB/s', 8000],
    ['9600bit', 9600],
  ])('%j -> %d', (input, bps) => expect(value(parseRate(input))).toBeCloseTo(bps, 6));

  it.each([
    ['10 mbits', 'Did you mean `10mbit`?'],
    ['10MBps', 'is ambiguous (bits or bytes?)'],
    [20, '20 has no unit'],
    ['0mbit', 'is zero'],
    ['-1mbit', 'is negative'],
  ])('%j is rejected', (input, part) => expect(problem(parseRate(input))).toContain(part));
});

describe('parseSize (bytes)', () => {
  it.each([
    ['10KB', 10_000],
    ['10kB', 10_000],
    ['10KiB', 10_240],
    ['2MiB', 2 * 1024 * 1024],
    ['1MB', 1_000_000],
    ['1GiB', 1024 ** 3],
    ['512B', 512],
    ['1.5KiB', 1536],
    [1024, 1024],
    ['1024', 1024],
    [0, 0],
  ])('%j -> %d', (input, bytes) => expect(value(parseSize(input))).toBe(bytes));

  it.each([
    ['10kbb', 'Did you mean `10KB`?'],
    ['1.0001KB', 'is 1000.1 bytes, not a whole number'],
    [-3, 'is negative'],
    ['lots', 'is not a size'],
    [1.5, 'not a whole number'],
  ])('%j is rejected', (input, part) => expect(problem(parseSize(input))).toContain(part));
});
