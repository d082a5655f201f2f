// Small numeric and formatting helpers for the benchmark report.

export function median(values: number[]): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** "12.3 (11.9–13.0)": median, then the range when there is more than one value. */
export function spread(values: number[], digits = 1): string {
  const m = median(values).toFixed(digits)
  if (values.length < 2) return m
  return `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
}

export function mibOf(bytes: number): number {
  return bytes / 1024 / 1024
}

export function mbOf(bytes: number): number {
  return bytes / 1_000_000
}

export function ratio(b: number, a: number): string {
  return a > 0 && Number.isFinite(b) ? `${(b / a).toFixed(2)}×` : '—'
}

export function verdict(ok: boolean): string {
  return ok ? 'met' : '**missed**'
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}
