/**
 * Delay jitter as netem draws it, plus correlation that keeps the marginal distribution.
 *
 * netem draws delay = mu + sigma * table[u] where `table` is iproute2's scaled inverse CDF for the
 * chosen distribution (no table = uniform in [mu - sigma, mu + sigma)). Its correlation mixes the
 * uniform draw with the previous one, which shrinks the variance (tc-netem(8) calls it broken).
 * Here correlation is an AR(1) process on a standard normal z (z' = rho z + sqrt(1 - rho^2) e),
 * mapped through the distribution's inverse CDF (a Gaussian copula): the marginal distribution stays
 * exactly the configured one and consecutive draws have correlation ~rho.
 */
import type { JitterDistribution } from '../../model.ts';
import type { Rng } from './rng.ts';

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}

/** Standard normal CDF (absolute error < 1e-7: ample for mapping jitter draws to quantiles). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfcc (fractional error < 1.2e-7 everywhere).
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** iproute2 pareto.c: Pareto(x_m = 1, a = 3), centred (-1.5) and scaled by 4/3, table capped at 4. */
const PARETO_A = 3;
function paretoTableValue(u: number): number {
  const x = (4 / 3) * (1 / Math.pow(1 - u, 1 / PARETO_A) - 1.5);
  return Math.min(x, 4);
}

/** Value of netem's scaled table for distribution `dist` at quantile u in (0, 1): delay = mu + sigma * value. */
export function distributionQuantile(dist: JitterDistribution, u: number): number {
  switch (dist) {
    case 'uniform':
      return 2 * u - 1;
    case 'normal':
      return inverseNormalCdf(u);
    case 'pareto':
      return paretoTableValue(u);
    case 'paretonormal':
      // iproute2's paretonormal table mixes the two inverse CDFs at the same quantile, 3/4 normal, 1/4 pareto.
      return 0.75 * inverseNormalCdf(u) + 0.25 * paretoTableValue(u);
  }
}

/** Draws delays mu + sigma * X with X from `dist`, consecutive X correlated by `correlation` (0..1). */
export class JitterSampler {
  private z: number | undefined;

  constructor(
    private readonly rng: Rng,
    private dist: JitterDistribution,
    private correlation: number,
  ) {}

  configure(dist: JitterDistribution, correlation: number): void {
    this.dist = dist;
    this.correlation = correlation;
  }

  /** A standard normal from two uniforms (Box-Muller; the second value is discarded for simplicity). */
  private gaussian(): number {
    let u = this.rng.next();
    while (u <= 0) u = this.rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rng.next());
  }

  /** Delay in ms, never below 0 (a packet cannot leave before it arrived). */
  sample(delayMs: number, jitterMs: number): number {
    if (jitterMs <= 0) return delayMs;
    const rho = this.correlation;
    const e = this.gaussian();
    this.z = this.z === undefined || rho <= 0 ? e : rho * this.z + Math.sqrt(1 - rho * rho) * e;
    const x = this.dist === 'normal' ? this.z : distributionQuantile(this.dist, clampOpen(normalCdf(this.z)));
    return Math.max(0, delayMs + jitterMs * x);
  }
}

function clampOpen(u: number): number {
  return Math.min(1 - 1e-12, Math.max(1e-12, u));
}

/**
 * A Bernoulli process with probability p whose consecutive outcomes have correlation rho, keeping
 * P(true) = p exactly (a two-state Markov chain: P(1|1) = p + rho(1 - p), P(1|0) = p(1 - rho)).
 * Used for random loss, duplicate, reorder and corrupt, whose netem knobs are "PERCENT [CORRELATION]".
 */
export class CorrelatedBernoulli {
  private last = false;

  constructor(private readonly rng: Rng) {}

  draw(p: number, rho: number): boolean {
    if (p <= 0) return (this.last = false);
    if (p >= 1) return (this.last = true);
    const q = rho <= 0 ? p : this.last ? p + rho * (1 - p) : p * (1 - rho);
    this.last = this.rng.next() < q;
    return this.last;
  }
}
