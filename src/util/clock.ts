/**
 * One monotonic clock for every process of a run (CLOCK_MONOTONIC via hrtime), in milliseconds.
 * The runner, client, server and link processes share it, so their events join by time.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
