/** Small dense linear algebra: LU with partial pivoting, and Cholesky for SPD systems. */

/**
 * Solves `A x = b` by Gaussian elimination with partial pivoting (Golub & Van Loan, Matrix
 * Computations, Alg. 3.4.1). `a` is row-major n×n and is overwritten; `b` is overwritten with x.
 * Returns false if a pivot is (numerically) zero, i.e. A is singular.
 */
export function luSolveInPlace(a: Float64Array, b: Float64Array, n: number): boolean {
  for (let k = 0; k < n; k++) {
    let p = k;
    let max = Math.abs(a[k * n + k] as number);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k] as number);
      if (v > max) {
        max = v;
        p = i;
      }
    }
    if (!(max > 1e-300)) return false;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j] as number;
        a[k * n + j] = a[p * n + j] as number;
        a[p * n + j] = t;
      }
      const t = b[k] as number;
      b[k] = b[p] as number;
      b[p] = t;
    }
    const pivot = a[k * n + k] as number;
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] as number) / pivot;
      if (f === 0) continue;
      a[i * n + k] = 0;
      for (let j = k + 1; j < n; j++) a[i * n + j] = (a[i * n + j] as number) - f * (a[k * n + j] as number);
      b[i] = (b[i] as number) - f * (b[k] as number);
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let j = i + 1; j < n; j++) s -= (a[i * n + j] as number) * (b[j] as number);
    b[i] = s / (a[i * n + i] as number);
  }
  return true;
}

/**
 * Solves `A x = b` for symmetric positive-definite A by Cholesky factorisation `A = L Lᵀ`
 * (Golub & Van Loan, Alg. 4.2.1). Only the lower triangle of row-major `a` is read; `a` is
 * overwritten by L and `b` by x. Returns false if A is not (numerically) positive definite.
 */
export function choleskySolveInPlace(a: Float64Array, b: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * n + k] as number) ** 2;
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * n + k] as number) * (a[j * n + k] as number);
      a[i * n + j] = s / ljj;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (a[i * n + k] as number) * (b[k] as number);
    b[i] = s / (a[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= (a[k * n + i] as number) * (b[k] as number);
    b[i] = s / (a[i * n + i] as number);
  }
  return true;
}
