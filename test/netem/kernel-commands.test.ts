import { describe, expect, it } from 'vitest';
import {
  directionCommands,
  formatPercent,
  formatRate,
  formatTime,
  netemParams,
  offloadCommands,
  tbfBurstBytes,
  vethPairCommand,
} from '../../netem/kernel/commands.ts';
import { DIRECTION_DEFAULTS, type DirectionModel } from '../../netem/model.ts';
import { UserError } from '../../src/util/errors.ts';

const d = (over: Partial<DirectionModel>): DirectionModel => ({ ...DIRECTION_DEFAULTS, ...over });
const LIMIT = ['limit', '100000'];

describe('tc value formatting', () => {
  it.each([
    [25, '25ms'],
    [0, '0ms'],
    [12.5, '12500us'],
    [0.1, '100us'],
  ])('time %s ms -> %s', (ms, s) => expect(formatTime(ms)).toBe(s));

  it.each([
    [0.01, '1%'],
    [0.035, '3.5%'],
    [0.001, '0.1%'],
    [0.25, '25%'],
    [1, '100%'],
    [0.07, '7%'], // 0.07 * 100 is 7.000000000000001 in binary floating point
  ])('fraction %s -> %s', (f, s) => expect(formatPercent(f)).toBe(s));

  it.each([
    [10_000_000, '10000000bit'],
    [1_600_000, '1600000bit'],
    [384_000.4, '384000bit'],
  ])('rate %s -> %s', (bps, s) => expect(formatRate(bps)).toBe(s));

  it('rejects values tc cannot express', () => {
    expect(() => formatTime(-1)).toThrow(RangeError);
    expect(() => formatPercent(1.5)).toThrow(RangeError);
    expect(() => formatRate(0)).toThrow(RangeError);
  });
});

describe('netem parameters, one feature at a time', () => {
  it.each<[string, Partial<DirectionModel>, string[]]>([
    ['nothing', {}, [...LIMIT]],
    ['delay', { delayMs: 25 }, [...LIMIT, 'delay', '25ms']],
    ['delay + jitter (normal)', { delayMs: 25, jitterMs: 10 }, [...LIMIT, 'delay', '25ms', '10ms', 'distribution', 'normal']],
    ['jitter with correlation', { delayMs: 25, jitterMs: 10, jitterCorrelation: 0.25 }, [...LIMIT, 'delay', '25ms', '10ms', '25%', 'distribution', 'normal']],
    ['pareto jitter', { delayMs: 100, jitterMs: 20, jitterDistribution: 'pareto' }, [...LIMIT, 'delay', '100ms', '20ms', 'distribution', 'pareto']],
    ['paretonormal jitter', { delayMs: 100, jitterMs: 20, jitterDistribution: 'paretonormal' }, [...LIMIT, 'delay', '100ms', '20ms', 'distribution', 'paretonormal']],
    // uniform is netem's default and has no .dist table: no `distribution` word.
    ['uniform jitter', { delayMs: 30, jitterMs: 5, jitterDistribution: 'uniform' }, [...LIMIT, 'delay', '30ms', '5ms']],
    ['fractional delay', { delayMs: 0.5 }, [...LIMIT, 'delay', '500us']],
    ['random loss', { loss: { model: 'random', probability: 0.01, correlation: 0 } }, [...LIMIT, 'loss', 'random', '1%']],
    ['correlated loss', { loss: { model: 'random', probability: 0.035, correlation: 0.25 } }, [...LIMIT, 'loss', 'random', '3.5%', '25%']],
    [
      'Gilbert-Elliott loss',
      { loss: { model: 'gilbert-elliott', p: 0.01, r: 0.3, oneMinusH: 1, oneMinusK: 0 } },
      [...LIMIT, 'loss', 'gemodel', '1%', '30%', '100%', '0%'],
    ],
    ['duplicate', { duplicate: 0.01 }, [...LIMIT, 'duplicate', '1%']],
    ['reorder', { delayMs: 10, reorder: 0.25 }, [...LIMIT, 'delay', '10ms', 'reorder', '25%']],
    ['reorder with correlation', { delayMs: 10, reorder: 0.25, reorderCorrelation: 0.5 }, [...LIMIT, 'delay', '10ms', 'reorder', '25%', '50%']],
    ['corrupt', { corrupt: 0.001 }, [...LIMIT, 'corrupt', '0.1%']],
    ['blackhole overrides loss', { blackhole: true, loss: { model: 'random', probability: 0.01, correlation: 0 } }, [...LIMIT, 'loss', 'random', '100%']],
    [
      'everything',
      {
        delayMs: 25,
        jitterMs: 10,
        jitterCorrelation: 0.25,
        loss: { model: 'random', probability: 0.01, correlation: 0 },
        duplicate: 0.005,
        reorder: 0.01,
        corrupt: 0.001,
      },
      [...LIMIT, 'delay', '25ms', '10ms', '25%', 'distribution', 'normal', 'loss', 'random', '1%', 'duplicate', '0.5%', 'reorder', '1%', 'corrupt', '0.1%'],
    ],
  ])('%s', (_name, model, expected) => {
    expect(netemParams(d(model))).toEqual(expected);
  });

  it('refuses reorder without delay, saying what to set', () => {
    expect(() => netemParams(d({ reorder: 0.1 }))).toThrow(UserError);
    expect(() => netemParams(d({ reorder: 0.1 }))).toThrow(/set delay/);
  });
});

describe('qdisc stack per direction', () => {
  const TC = ['tc', '-n', 'ns-c', 'qdisc'];
  const ROOT = ['dev', 'p0-wifi', 'root', 'handle', '1:'];
  const RATE = ['dev', 'p0-wifi', 'parent', '1:1', 'handle', '2:'];
  const QUEUE = ['dev', 'p0-wifi', 'parent', '2:1', 'handle', '3:'];
  const cmds = (before: DirectionModel | undefined, after: DirectionModel) => directionCommands('ns-c', 'p0-wifi', before, after, 1500);

  it('delay only: one netem qdisc', () => {
    expect(cmds(undefined, d({ delayMs: 15 }))).toEqual([[...TC, 'add', ...ROOT, 'netem', ...LIMIT, 'delay', '15ms']]);
  });

  it('rate without a queue limit: netem + tbf with the default byte limit (1000 packets of 1514 bytes)', () => {
    expect(cmds(undefined, d({ delayMs: 15, rateBps: 10_000_000 }))).toEqual([
      [...TC, 'add', ...ROOT, 'netem', ...LIMIT, 'delay', '15ms'],
      [...TC, 'add', ...RATE, 'tbf', 'rate', '10000000bit', 'burst', '3028', 'limit', '1514000'],
    ]);
  });

  it('interop-runner: 10 Mbit/s with a 25-packet drop-tail queue: pfifo below tbf', () => {
    expect(cmds(undefined, d({ delayMs: 15, rateBps: 10_000_000, queueLimitPackets: 25 }))).toEqual([
      [...TC, 'add', ...ROOT, 'netem', ...LIMIT, 'delay', '15ms'],
      [...TC, 'add', ...RATE, 'tbf', 'rate', '10000000bit', 'burst', '3028', 'limit', '1514000'],
      [...TC, 'add', ...QUEUE, 'pfifo', 'limit', '25'],
    ]);
  });

  it('byte queue limit is tbf`s own limit', () => {
    expect(cmds(undefined, d({ rateBps: 1_600_000, queueLimitBytes: 64_000 }))).toEqual([
      [...TC, 'add', ...ROOT, 'netem', ...LIMIT],
      [...TC, 'add', ...RATE, 'tbf', 'rate', '1600000bit', 'burst', '3028', 'limit', '64000'],
    ]);
  });

  it('a queue limit without a rate has no bottleneck to apply to', () => {
    expect(cmds(undefined, d({ queueLimitPackets: 25 }))).toEqual([[...TC, 'add', ...ROOT, 'netem', ...LIMIT]]);
  });

  it('refuses packet and byte limits together', () => {
    expect(() => cmds(undefined, d({ rateBps: 1e6, queueLimitPackets: 10, queueLimitBytes: 1000 }))).toThrow(/packets or in bytes/);
  });

  it('burst grows to 1 ms of tokens at high rates', () => {
    expect(tbfBurstBytes(1_000_000_000, 1500)).toBe(125_000);
    expect(tbfBurstBytes(1_000_000, 1500)).toBe(3028);
  });

  describe('phases (before -> after)', () => {
    const base = d({ delayMs: 15, rateBps: 10_000_000, queueLimitPackets: 25 });
    it('nothing changed: no command', () => {
      expect(cmds(base, { ...base })).toEqual([]);
    });
    it('delay change: netem change only', () => {
      expect(cmds(base, { ...base, delayMs: 100 })).toEqual([[...TC, 'change', ...ROOT, 'netem', ...LIMIT, 'delay', '100ms']]);
    });
    it('blackhole: netem change to 100% loss', () => {
      expect(cmds(base, { ...base, blackhole: true })).toEqual([[...TC, 'change', ...ROOT, 'netem', ...LIMIT, 'delay', '15ms', 'loss', 'random', '100%']]);
    });
    it('rate change restates the pfifo limit (tbf change resets its child`s limit)', () => {
      expect(cmds(base, { ...base, rateBps: 1_000_000 })).toEqual([
        [...TC, 'change', ...RATE, 'tbf', 'rate', '1000000bit', 'burst', '3028', 'limit', '1514000'],
        [...TC, 'change', ...QUEUE, 'pfifo', 'limit', '25'],
      ]);
    });
    it('queue limit change only: pfifo change', () => {
      expect(cmds(base, { ...base, queueLimitPackets: 50 })).toEqual([[...TC, 'change', ...QUEUE, 'pfifo', 'limit', '50']]);
    });
    it('rate removed: tbf (and its pfifo) deleted', () => {
      expect(cmds(base, { ...base, rateBps: undefined })).toEqual([[...TC, 'del', ...RATE]]);
    });
    it('rate added: tbf added', () => {
      const noRate = d({ delayMs: 15 });
      expect(cmds(noRate, { ...noRate, rateBps: 5_000_000 })).toEqual([
        [...TC, 'add', ...RATE, 'tbf', 'rate', '5000000bit', 'burst', '3028', 'limit', '1514000'],
      ]);
    });
    it('packet limit dropped while rate stays: tbf rebuilt, never a child-less tbf', () => {
      expect(cmds(base, { ...base, queueLimitPackets: undefined })).toEqual([
        [...TC, 'del', ...RATE],
        [...TC, 'add', ...RATE, 'tbf', 'rate', '10000000bit', 'burst', '3028', 'limit', '1514000'],
      ]);
    });
  });
});

describe('devices', () => {
  it('veth pair is created inside both namespaces at once', () => {
    expect(vethPairCommand('bnch-r-c', 'p0-wifi', 'bnch-r-s', 'p0-wifi')).toEqual([
      'ip', 'link', 'add', 'name', 'p0-wifi', 'netns', 'bnch-r-c', 'type', 'veth', 'peer', 'name', 'p0-wifi', 'netns', 'bnch-r-s',
    ]);
  });
  it('shaped pairs take one segment per packet, so TCP hands netem wire-sized packets', () => {
    expect(vethPairCommand('bnch-r-c', 'p0-wifi', 'bnch-r-s', 'p0-wifi', { gsoMaxSegs: 1 })).toEqual([
      'ip', 'link', 'add', 'name', 'p0-wifi', 'netns', 'bnch-r-c', 'gso_max_segs', '1', 'type', 'veth', 'peer', 'name', 'p0-wifi', 'netns', 'bnch-r-s', 'gso_max_segs', '1',
    ]);
  });
  it('segmentation offloads off, so tc sees wire-sized packets', () => {
    expect(offloadCommands('bnch-r-c', 'p0-wifi')).toEqual([
      ['ip', 'netns', 'exec', 'bnch-r-c', 'ethtool', '-K', 'p0-wifi', 'tso', 'off', 'gso', 'off', 'gro', 'off'],
    ]);
  });
});
