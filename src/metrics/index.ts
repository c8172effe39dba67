export {
  LatencyRecorder,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  metricFromHistogram,
  newHistogram,
  type MetricHistogram,
} from './histogram.ts';
export {
  bootstrapCI95,
  compareSamples,
  describeComparison,
  mean,
  meanCI95,
  median,
  seededRandom,
  stdev,
  summariseSample,
  tCritical95,
  welchCI95,
  type Comparison,
  type SampleSummary,
} from './stats.ts';
export { cdfPoints, percentileDistribution, type CdfPoint, type PercentilePoint } from './distribution.ts';
