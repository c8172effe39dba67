/**
 * A scenario's `reference:`: what a published study found in the setting the scenario reproduces,
 * one claim per measured metric. Part of the resolved scenario, so result.json carries it and the
 * report prints each claim beside bench's own figures for that metric (never a verdict: a claim
 * is in words, the figures are in numbers).
 */
export interface ReferenceClaim {
  /** The workload's name in the scenario. */
  workload: string;
  /** A catalogue metric id of that workload's type (src/results/catalogue.ts). */
  metric: string;
  /** The claim, in the study's terms: "HTTP/3 degrades less than HTTP/2 as loss grows". */
  says: string;
}

export interface StudyReference {
  /** The study: "Liu et al. 2024, arXiv 2409.16267". */
  source: string;
  claims: ReferenceClaim[];
}
