import { describe, expect, it } from 'vitest';
import { parseBackendOption, parseHttpsUrl, parsePositiveInt, parseProtocolList } from '../../src/cli/options.ts';
import { UserError } from '../../src/util/errors.ts';

describe('CLI option parsing', () => {
  it('parses protocol lists, deduplicating and normalising case', () => {
    expect(parseProtocolList('h2, H3,h2')).toEqual(['h2', 'h3']);
  });

  it('names the flag and the valid values for an unknown protocol', () => {
    expect(() => parseProtocolList('h2,quic')).toThrow(UserError);
    expect(() => parseProtocolList('h2,quic')).toThrow('--protocols: unknown protocol "quic", expected a comma-separated list of h1, h2, h3');
  });

  it('bench doctor --backend takes kernel, userspace or all, and names them for anything else', () => {
    expect(parseBackendOption('Kernel')).toBe('kernel');
    expect(parseBackendOption('userspace')).toBe('userspace');
    expect(() => parseBackendOption('netem')).toThrow('--backend: unknown link "netem", expected kernel, userspace or all (e.g. --backend kernel)');
  });

  it('rejects non-integers and out-of-range numbers with the flag name', () => {
    expect(parsePositiveInt('5', '--repetitions')).toBe(5);
    expect(() => parsePositiveInt('five', '--repetitions')).toThrow('--repetitions: expected a whole number, got "five"');
    expect(() => parsePositiveInt('0', '--repetitions')).toThrow('--repetitions: 0 is out of range');
  });

  it('parses https URLs including IPv6 literals', () => {
    expect(parseHttpsUrl('https://[::1]:8443/bytes/10?x=1')).toEqual({ host: '::1', port: 8443, path: '/bytes/10?x=1', servername: '::1' });
    expect(() => parseHttpsUrl('http://localhost/')).toThrow('only https:// URLs');
    expect(() => parseHttpsUrl('nonsense')).toThrow('is not a URL');
  });
});

describe('--network', () => {
  it('keeps only the named variants of a sweep, and names the variants when one is unknown', async () => {
    const { selectNetworks } = await import('../../src/commands/run.ts');
    const { loadScenario } = await import('../../src/scenario/load.ts');
    const scenario = loadScenario('scenarios/handshake-rtt.yaml');
    expect(selectNetworks(scenario, 'rtt=100ms').networks.map((n) => n.label)).toEqual(['rtt=100ms']);
    expect(selectNetworks(scenario, undefined).networks).toHaveLength(3);
    expect(() => selectNetworks(scenario, 'rtt=10ms')).toThrow(
      '--network: no network variant "rtt=10ms" in scenarios/handshake-rtt.yaml; its variants are rtt=20ms, rtt=100ms, rtt=300ms',
    );
  });
});
