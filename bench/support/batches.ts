/** `make(0..n-1)`, at most `size` at a time (set-ups that would time out all at once on a loaded machine). */
export async function inBatches<T>(n: number, make: (i: number) => Promise<T>, size = 8): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => make(i + j)))));
  return out;
}
