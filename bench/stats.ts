/**
 * Statistics shared by the benchmarks: paired ratios and differences with confidence intervals.
 *
 * Why paired: on a shared 2-core machine the load of others drifts by tens of percent within minutes. Each
 * capture-on block is compared only with its neighbouring capture-off block (one pair), and the interval is taken
 * over pairs, so slow drift cancels instead of widening (or biasing) the result. Block order alternates within
 * pairs (off,on / on,off / ...) so a linear drift does not favour one side either.
 */

import { seededRandom } from '../testing/seededRandom.js';

/** Deterministic PRNG: the same result file gives the same CI when re-analysed. */
export const rng = seededRandom;

export const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Quantile with linear interpolation (type 7, as R and numpy default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
}

/** Quantile of an already sorted array (latency samples: hundreds of thousands, sorted once). */
export function sortedQuantile(s: Float64Array | readonly number[], q: number): number {
  if (s.length === 0) return NaN;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export const geomean = (xs: readonly number[]): number => Math.exp(mean(xs.map(Math.log)));

function stdev(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Two-sided 95 % Student t quantiles for df 1..30 (beyond: normal). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface Interval {
  /** The point estimate. */
  value: number;
  ci_low: number;
  ci_high: number;
  /** How the interval was computed. */
  method: string;
  /** Number of independent units (pairs) behind it. */
  n: number;
}

/** 95 % t interval of the mean of `xs` (e.g. per-pair differences). */
export function tInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { value: m, ci_low: NaN, ci_high: NaN, method: 't95 (n < 2: no interval)', n };
  const half = (T95[n - 2] ?? 1.96) * (stdev(xs) / Math.sqrt(n));
  return { value: m, ci_low: m - half, ci_high: m + half, method: 't95 of the mean', n };
}

/**
 * 95 % percentile-bootstrap interval of `stat` over `units` (resampled with replacement, 10 000 times, fixed seed).
 * With few units (6 pairs) the bootstrap interval is known to be somewhat too narrow; tInterval is reported
 * beside it where the statistic is a mean.
 */
export function bootstrap<T>(units: readonly T[], stat: (sample: readonly T[]) => number, label: string, unit = 'pairs', resamples = 10_000, seed = 1): Interval {
  const n = units.length;
  const value = stat(units);
  if (n < 2) return { value, ci_low: NaN, ci_high: NaN, method: `bootstrap (n < 2: no interval) of ${label}`, n };
  const next = rng(seed);
  const draws = new Float64Array(resamples);
  const sample: T[] = new Array<T>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = units[Math.floor(next() * n)]!;
    draws[r] = stat(sample);
  }
  draws.sort();
  return { value, ci_low: sortedQuantile(draws, 0.025), ci_high: sortedQuantile(draws, 0.975), method: `percentile bootstrap (95 %, ${resamples} resamples over ${n} ${unit}) of ${label}`, n };
}

/** Ratio on/off over pairs: the geometric mean of per-pair ratios, with its bootstrap interval. */
export function pairedRatio(pairs: readonly { off: number; on: number }[]): Interval {
  const ratios = pairs.map((p) => p.on / p.off);
  return bootstrap(ratios, geomean, 'the geometric mean of per-pair ratios on/off');
}

/** Difference on - off over pairs: mean of per-pair differences, t interval (bootstrap beside it in `bootstrap`). */
export function pairedDifference(pairs: readonly { off: number; on: number }[]): Interval & { bootstrap: Interval } {
  const d = pairs.map((p) => p.on - p.off);
  return { ...tInterval(d), bootstrap: bootstrap(d, mean, 'the mean of per-pair differences on - off') };
}

/** "x0.962 [0.941, 0.983]" */
export function fmtRatio(i: Interval, digits = 3): string {
  return `x${i.value.toFixed(digits)} [${i.ci_low.toFixed(digits)}, ${i.ci_high.toFixed(digits)}]`;
}

/** "+312 ns [280, 344]" */
export function fmtDiff(i: Interval, unit: string, digits = 0): string {
  const s = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(digits);
  return `${s(i.value)} ${unit} [${s(i.ci_low)}, ${s(i.ci_high)}]`;
}
