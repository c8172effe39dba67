/**
 * The gate's default tolerances (`--max-regression`), each calibrated on this machine (docs/ci.md).
 * They differ because a stored baseline was made minutes to days before the candidate, and the
 * tolerance must absorb how far a whole run drifts in that time (10 to 15% here, now and then);
 * `bench ab` runs both builds interleaved in one sitting, so that drift falls on both alike.
 */

/** `bench run --baseline`, `bench gate`: measured with `npm run calibrate`. */
export const DEFAULT_MAX_REGRESSION = 0.125;

/** `bench ab`: measured with `npm run calibrate:ab`. */
export const DEFAULT_AB_MAX_REGRESSION = 0.1;

/** "12.5%", for help texts. */
export const percentText = (fraction: number) => `${Number((fraction * 100).toFixed(2))}%`;
