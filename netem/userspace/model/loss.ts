/** Packet loss processes with netem's parameters. */
import type { LossModel } from '../../model.ts';
import { CorrelatedBernoulli } from './distributions.ts';
import type { Rng } from './rng.ts';

export interface LossProcess {
  /** true = drop this packet. */
  lose(): boolean;
}

export const NO_LOSS: LossProcess = { lose: () => false };

/**
 * netem's 4-parameter Gilbert-Elliott model (`loss gemodel p r 1-h 1-k`): per packet, first the state
 * moves (good -> bad with p, bad -> good with r), then the packet is lost with 1-h in the bad state and
 * 1-k in the good state (the order of sch_netem.c's loss_gilb_ell). Stationary loss rate:
 * (r (1-k) + p (1-h)) / (p + r); mean bad-state sojourn 1/r packets.
 */
export class GilbertElliottLoss implements LossProcess {
  bad = false;

  constructor(
    private readonly rng: Rng,
    private readonly p: number,
    private readonly r: number,
    private readonly oneMinusH: number,
    private readonly oneMinusK: number,
  ) {}

  lose(): boolean {
    if (this.bad) {
      if (this.rng.next() < this.r) this.bad = false;
    } else if (this.rng.next() < this.p) {
      this.bad = true;
    }
    return this.rng.next() < (this.bad ? this.oneMinusH : this.oneMinusK);
  }
}

export class RandomLoss implements LossProcess {
  private readonly bernoulli: CorrelatedBernoulli;
  constructor(
    rng: Rng,
    private readonly probability: number,
    private readonly correlation: number,
  ) {
    this.bernoulli = new CorrelatedBernoulli(rng);
  }

  lose(): boolean {
    return this.bernoulli.draw(this.probability, this.correlation);
  }
}

export function createLoss(model: LossModel, rng: Rng): LossProcess {
  switch (model.model) {
    case 'none':
      return NO_LOSS;
    case 'random':
      return new RandomLoss(rng, model.probability, model.correlation);
    case 'gilbert-elliott':
      return new GilbertElliottLoss(rng, model.p, model.r, model.oneMinusH, model.oneMinusK);
  }
}

/** Long-run loss rate of a model (for tests and for the report's expectations). */
export function expectedLossRate(model: LossModel): number {
  switch (model.model) {
    case 'none':
      return 0;
    case 'random':
      return model.probability;
    case 'gilbert-elliott': {
      const { p, r, oneMinusH, oneMinusK } = model;
      if (p + r === 0) return oneMinusK;
      return (r * oneMinusK + p * oneMinusH) / (p + r);
    }
  }
}
