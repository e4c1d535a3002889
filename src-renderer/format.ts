// Number formatting the renderer's charts and tables share: counts with thousands separators,
// overhead ratios against native, rates and percentages. Exact numbers stay available to the
// user (hover and table view); these are only their display.

/** 1234567 → "1,234,567"; non-finite values → "—". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const sign = n < 0 ? '-' : '';
  const digits = Math.round(Math.abs(n)).toString();
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Ratio of a run to its native baseline: 1.8 → "1.80×"; a missing baseline → "—". */
export function formatRatio(value: number, baseline: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return '—';
  const r = value / baseline;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** 0.9734 → "97.3%". */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Instructions per second → "41.2 MIPS" / "850 KIPS". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '—';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} MIPS`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(0)} KIPS`;
  return `${perSecond.toFixed(0)} IPS`;
}

/** Milliseconds as a short duration: 850 → "<1 s", 12_400 → "12 s", 185_000 → "3 min 5 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return '<1 s';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** Bytes as "12,288 bytes (12 KiB)". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const count = `${formatCount(n)} bytes`;
  if (n < 1024) return count;
  if (n < 1024 * 1024) return `${count} (${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB)`;
  return `${count} (${(n / 1024 / 1024).toFixed(1)} MiB)`;
}
