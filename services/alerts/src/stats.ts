/**
 * The statistics the detectors rely on. Tail probabilities are computed from the regularised
 * incomplete gamma and beta functions (Numerical Recipes, 3rd ed., §6.2 and §6.4), so they stay
 * accurate far into the tails where the detectors set their thresholds.
 */

const LANCZOS = [
  57.15623566586292, -59.59796035547549, 14.136097974741746, -0.4919138160976202, 0.00003399464998481189,
  0.00004652362892704858, -0.00009837447530487956, 0.0001580887032249125, -0.00021026444172410488,
  0.00021743961811521265, -0.0001643181065367639, 0.00008441822398385275, -0.000026190838401581408,
  0.0000036899182659531625,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 671/128, 14 terms; relative error < 1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  let y = x;
  const tmp0 = x + 5.2421875;
  const tmp = (x + 0.5) * Math.log(tmp0) - tmp0;
  let ser = 0.9999999999999971;
  for (const c of LANCZOS) ser += c / ++y;
  return tmp + Math.log(2.5066282746310007 * ser / x);
}

const EPS = 1e-15;
const FPMIN = 1e-300;

/** Regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) return gammaSeries(a, x);
  return 1 - gammaContinuedFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate when it is tiny. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - gammaSeries(a, x);
  return gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < 10_000; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** P(X ≥ k) for X ~ Poisson(λ). k ≤ 0 gives 1. */
export function poissonUpperTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  return gammaP(k, lambda);
}

/** P(X ≤ k) for X ~ Poisson(λ). */
export function poissonLowerTail(k: number, lambda: number): number {
  if (k < 0) return 0;
  if (lambda <= 0) return 1;
  return gammaQ(Math.floor(k) + 1, lambda);
}

/** Regularised incomplete beta I_x(a, b). */
export function betaI(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (bt * betaContinuedFraction(x, a, b)) / a;
  return 1 - (bt * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p), continued to fractional k and n through the incomplete beta
 * (attributed conversions are fractional).
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return betaI(p, k, n - k + 1);
}

/** Standard normal CDF Φ(z), through erfc so that the far tails keep their relative accuracy. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** erfc(x) = Q(1/2, x²) for x ≥ 0. */
export function erfc(x: number): number {
  if (x >= 0) return gammaQ(0.5, x * x);
  return 2 - gammaQ(0.5, x * x);
}

/** Wilson score interval of a proportion (z = 1.96: 95%). */
export function wilson(successes: number, n: number, z = 1.96): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A compound-Poisson total over an exposure: Σv, Σv² and the exposure (euros, clicks or days). */
export interface RateSample {
  sum: number;
  sumSq: number;
  exposure: number;
}

export interface RateTest {
  observedRate: number;
  expectedRate: number;
  change: number;
  z: number;
  /** One-sided p-value in the direction asked for. */
  pValue: number;
}

/**
 * Two-sample test of compound-Poisson rates (revenue per euro, conversions per click): under the
 * null hypothesis both samples share one rate r, pooled from both, and one mean of v²/v (each
 * conversion's credited value v is the jump size), so Var(S/E) = r · (Σv²/Σv) / E. The statistic
 * is the difference of the rates over its pooled standard error (normal approximation; the
 * detectors add a minimum volume so it holds). With every v = 1 it is the classic Poisson rate test.
 */
export function compareRates(observed: RateSample, baseline: RateSample, direction: 'lower' | 'higher'): RateTest | undefined {
  if (observed.exposure <= 0 || baseline.exposure <= 0) return undefined;
  const totalSum = observed.sum + baseline.sum;
  if (totalSum <= 0) return undefined;
  const observedRate = observed.sum / observed.exposure;
  const expectedRate = baseline.sum / baseline.exposure;
  const pooledRate = totalSum / (observed.exposure + baseline.exposure);
  const jump = (observed.sumSq + baseline.sumSq) / totalSum;
  const variance = pooledRate * jump * (1 / observed.exposure + 1 / baseline.exposure);
  if (!(variance > 0)) return undefined;
  const z = (observedRate - expectedRate) / Math.sqrt(variance);
  const pValue = direction === 'lower' ? normalCdf(z) : normalCdf(-z);
  const change = expectedRate > 0 ? observedRate / expectedRate - 1 : Infinity;
  return { observedRate, expectedRate, change, z, pValue };
}

export interface LinearFit {
  slope: number;
  intercept: number;
  slopeStdError: number;
  r2: number;
  n: number;
}

/** Ordinary least squares y = intercept + slope · x, with the slope's standard error. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit | undefined {
  const n = xs.length;
  if (n < 3 || ys.length !== n) return undefined;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = Math.max(0, syy - slope * sxy);
  const slopeStdError = Math.sqrt(sse / (n - 2) / sxx);
  return { slope, intercept, slopeStdError, r2: syy > 0 ? 1 - sse / syy : 1, n };
}

/** A deterministic PRNG for simulations and tests (the attribution package's). */
export { mulberry32 } from '@touchline/attribution';
