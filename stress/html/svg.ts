/**
 * Server-side SVG charts for the HTML report: bar charts (grouped, for compare), log2-bucket
 * histograms and per-CPU event timelines. Drawn at build time so they show with JavaScript off.
 */
import { bucketLowNs, fmtNs } from '../hist.js';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c'];

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (x: number): string => (Math.abs(x) >= 100 || Number.isInteger(x) ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export interface BarSeries {
  name: string;
  values: number[];
}

/** Grouped vertical bars: one group per label, one bar per series. */
export function svgGroupedBars(o: { title: string; labels: string[]; series: BarSeries[]; yLabel: string; width?: number; height?: number; chart: string }): string {
  const W = o.width ?? Math.max(360, Math.min(1100, 70 + o.labels.length * (o.series.length * 12 + 14)));
  const H = o.height ?? 260;
  const L = 64, R = 10, T = 24, B = 92;
  const pw = W - L - R, ph = H - T - B;
  const max = niceMax(Math.max(0, ...o.series.flatMap((s) => s.values)));
  const gw = pw / Math.max(1, o.labels.length);
  const bw = Math.max(2, (gw - 6) / Math.max(1, o.series.length));
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const y = T + ph - (ph * k) / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" class="grid"/><text x="${L - 4}" y="${y + 4}" class="ax" text-anchor="end">${num((max * k) / 4)}</text>`);
  }
  o.labels.forEach((lab, i) => {
    const gx = L + i * gw + 3;
    o.series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = max > 0 ? (ph * v) / max : 0;
      parts.push(`<rect x="${(gx + j * bw).toFixed(1)}" y="${(T + ph - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[j % PALETTE.length]}"><title>${esc(lab)} · ${esc(s.name)}: ${num(v)}</title></rect>`);
    });
    const cx = gx + (gw - 6) / 2;
    parts.push(`<text x="${cx}" y="${T + ph + 10}" class="ax" text-anchor="end" transform="rotate(-40 ${cx} ${T + ph + 10})">${esc(lab.length > 26 ? lab.slice(0, 25) + '…' : lab)}</text>`);
  });
  const legend = o.series.map((s, j) => `<tspan fill="${PALETTE[j % PALETTE.length]}">■</tspan> ${esc(s.name)}`).join('  ');
  return `<svg class="chart" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><text x="${L}" y="14" class="ttl">${esc(o.title)}</text><text x="${W - R}" y="14" class="ax" text-anchor="end">${legend}</text><text x="12" y="${T + ph / 2}" class="ax" transform="rotate(-90 12 ${T + ph / 2})" text-anchor="middle">${esc(o.yLabel)}</text>${parts.join('')}</svg>`;
}

/**
 * log2-bucket histograms (bucket i = [2^i, 2^(i+1)) in `unitNs` units), one colour per series,
 * x = bucket lower bound on a log scale (one bucket per step), y = count. Leading and trailing
 * empty buckets are trimmed.
 */
export function svgHistogram(o: { title: string; series: Array<{ name: string; hist: readonly number[] }>; unitNs: number; chart: string; width?: number; height?: number }): string {
  const W = o.width ?? 360;
  const H = o.height ?? 190;
  const L = 52, R = 8, T = 24, B = 40;
  const pw = W - L - R, ph = H - T - B;
  let lo = Infinity, hi = -1;
  for (const s of o.series) s.hist.forEach((n, i) => { if (n > 0) { lo = Math.min(lo, i); hi = Math.max(hi, i); } });
  if (hi < 0) return `<svg class="chart empty" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} 40" width="${W}" height="40"><text x="4" y="14" class="ttl">${esc(o.title)}</text><text x="4" y="32" class="ax">no samples</text></svg>`;
  lo = Math.max(0, lo - 1);
  hi = hi + 1;
  const nb = hi - lo + 1;
  const max = niceMax(Math.max(...o.series.flatMap((s) => s.hist.slice(lo, hi + 1) as number[])));
  const bw = pw / nb;
  const sw = bw / o.series.length;
  const parts: string[] = [];
  for (let k = 0; k <= 2; k++) {
    const y = T + ph - (ph * k) / 2;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" class="grid"/><text x="${L - 4}" y="${y + 4}" class="ax" text-anchor="end">${num((max * k) / 2)}</text>`);
  }
  const step = Math.max(1, Math.ceil(nb / 6));
  for (let i = lo; i <= hi; i++) {
    const x = L + (i - lo) * bw;
    o.series.forEach((s, j) => {
      const v = s.hist[i] ?? 0;
      if (v <= 0) return;
      const h = Math.max(1, (ph * v) / max);
      parts.push(`<rect x="${(x + j * sw).toFixed(1)}" y="${(T + ph - h).toFixed(1)}" width="${Math.max(1, sw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[j % PALETTE.length]}"><title>${esc(s.name)} ${fmtNs(bucketLowNs(i) * o.unitNs)}–${fmtNs(2 ** (i + 1) * o.unitNs)}: ${num(v)}</title></rect>`);
    });
    if ((i - lo) % step === 0) parts.push(`<text x="${x.toFixed(1)}" y="${T + ph + 14}" class="ax">${esc(fmtNs(bucketLowNs(i) * o.unitNs))}</text>`);
  }
  const legend = o.series.length > 1 ? o.series.map((s, j) => `<tspan fill="${PALETTE[j % PALETTE.length]}">■</tspan> ${esc(s.name)}`).join(' ') : '';
  return `<svg class="chart" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><text x="${L}" y="14" class="ttl">${esc(o.title)}</text><text x="${W - R}" y="14" class="ax" text-anchor="end">${legend}</text>${parts.join('')}<text x="${L + pw / 2}" y="${H - 4}" class="ax" text-anchor="middle">log2 buckets</text></svg>`;
}

/** Per-CPU lanes of trace events (µs), the violation's CPU and moment marked. */
export function svgTrace(o: { title: string; events: Array<{ cpu: number; us: number; event: string; a: number; b: number }>; cpus: number; atUs: number; cpu: number; chart: string }): string {
  const W = 900;
  const lanes = Math.max(1, o.cpus);
  const H = 40 + lanes * 34 + 24;
  const L = 60, R = 16, T = 28;
  const ev = o.events;
  const t0 = Math.min(o.atUs, ...ev.map((e) => e.us));
  const t1 = Math.max(o.atUs, ...ev.map((e) => e.us));
  const span = Math.max(1, t1 - t0);
  const x = (us: number): number => L + ((us - t0) / span) * (W - L - R);
  const parts: string[] = [];
  for (let c = 0; c < lanes; c++) {
    const y = T + c * 34 + 17;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" class="grid"/><text x="${L - 6}" y="${y + 4}" class="ax" text-anchor="end"${c === o.cpu ? ' font-weight="bold"' : ''}>cpu ${c}</text>`);
  }
  ev.forEach((e, i) => {
    const y = T + e.cpu * 34 + 17;
    const cx = x(e.us);
    const bad = e.event === 'violation' || e.event === 'deref';
    parts.push(`<circle cx="${cx.toFixed(1)}" cy="${y}" r="${bad ? 5 : 3.5}" fill="${bad ? '#dc2626' : PALETTE[e.cpu % PALETTE.length]}"><title>cpu ${e.cpu} +${e.us - t0} µs ${esc(e.event)} (${e.a}, ${e.b})</title></circle>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${y + (i % 2 === 0 ? -7 : 14)}" class="evt" text-anchor="middle">${esc(e.event)}</text>`);
  });
  const vx = x(o.atUs);
  parts.push(`<line x1="${vx}" x2="${vx}" y1="${T - 4}" y2="${T + lanes * 34}" stroke="#dc2626" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${L}" y="${H - 6}" class="ax">${esc(`${span} µs shown; dashed: the violation`)}</text>`);
  return `<svg class="chart" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><text x="${L}" y="16" class="ttl">${esc(o.title)}</text>${parts.join('')}</svg>`;
}
