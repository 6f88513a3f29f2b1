/**
 * Server-side SVG charts for the HTML report: bar charts (grouped, for compare), log2-bucket
 * histograms and the sequence chart of a violation's interleaving. Drawn at build time so they
 * show with JavaScript off.
 */
import { bucketLowNs, fmtNs } from '../hist.js';
import type { EventRole, Sequence } from './interleaving.js';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c'];

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const num = (x: number): string => (Math.abs(x) >= 100 || Number.isInteger(x) ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));

export function niceMax(x: number): number {
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

const ROLE_STYLE: Record<EventRole, { fill: string; dot: string; name: string }> = {
  taken: { fill: '#dbeafe', dot: '#2563eb', name: 'pointer taken' },
  stale: { fill: '#ffedd5', dot: '#ea580c', name: 'made stale' },
  bad: { fill: '#fee2e2', dot: '#dc2626', name: 'bad dereference' },
};
/** Monospace labels: 11 px, ~0.6 em a character in the usual monospace fonts (0.62 to be safe). */
const SEQ_FONT = 11;
const SEQ_CH = SEQ_FONT * 0.62;
const SEQ_ROW = 18;
/** Widest chart drawn at its own size in a 1000 px window (the page's content is 952 px there). */
const SEQ_MAX_W = 940;
/** Narrowest column when they must share SEQ_MAX_W: its heading still fits. */
const SEQ_MIN_COL = 150;

/**
 * A sequence chart of an interleaving: one row per event in time order, one column (lifeline)
 * per CPU, the time and the gap to the previous row at the left; rows with a role shaded. Each
 * row holds one event, so a label may run on over the lifelines to its right (on a backing of
 * the row's colour) and no label can cover another. Columns get the width of their longest label
 * when the chart fits SEQ_MAX_W; otherwise all but the last are narrowed (not below
 * SEQ_MIN_COL), and a label is cut with "…" (full text in its tooltip) only past the right edge.
 */
export function svgSequence(o: { title: string; seq: Sequence; chart: string }): string {
  const { columns, events } = o.seq;
  const R = 8, T = 46, PAD = 18;
  // Time columns as wide as their widest figure: the time, then the gap to the previous row.
  const usText = events.map((e) => e.us.toLocaleString('en-US'));
  const gapText = events.map((e, i) => (i > 0 && e.us > events[i - 1]!.us ? `+${(e.us - events[i - 1]!.us).toLocaleString('en-US')}` : ''));
  const usRight = 8 + Math.max(2, ...usText.map((t) => t.length)) * SEQ_CH;
  const gapRight = usRight + 12 + Math.max(2, ...gapText.map((t) => t.length)) * SEQ_CH;
  const L = gapRight + 10;
  const want = columns.map((c, k) => PAD + 12 + Math.max(c.length, ...events.filter((e) => e.col === k).map((e) => e.label.length)) * SEQ_CH);
  const room = SEQ_MAX_W - L - R;
  const n = columns.length;
  const widths = [...want];
  if (want.reduce((a, b) => a + b, 0) > room) {
    // Narrow the columns left of the last (their labels run on to the right); the last keeps what is left.
    const share = Math.max(SEQ_MIN_COL, (room - want[n - 1]!) / Math.max(1, n - 1));
    for (let k = 0; k < n - 1; k++) widths[k] = Math.min(want[k]!, share);
    widths[n - 1] = Math.max(SEQ_MIN_COL, room - widths.slice(0, -1).reduce((a, b) => a + b, 0));
  }
  const x0 = widths.map((_w, k) => L + widths.slice(0, k).reduce((a, b) => a + b, 0) + 8);
  const W = Math.max(560, Math.ceil(L + widths.reduce((a, b) => a + b, 0) + R));
  const H = T + events.length * SEQ_ROW + 8;
  const fit = (s: string, x: number, right: number): string => {
    const max = Math.max(4, Math.floor((right - x) / SEQ_CH));
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };
  const rows: string[] = [];
  const marks: string[] = [];
  events.forEach((e, i) => {
    const y = T + i * SEQ_ROW;
    const cy = y + SEQ_ROW / 2;
    const st = e.role ? ROLE_STYLE[e.role] : undefined;
    const bg = st ? st.fill : i % 2 === 1 ? '#fafafa' : '#fff';
    rows.push(`<rect x="2" y="${y}" width="${W - 4}" height="${SEQ_ROW}" fill="${bg}"${st ? ` class="role-${e.role}"` : ''}/>`);
    rows.push(`<text x="${usRight.toFixed(1)}" y="${cy + 4}" class="seqt" text-anchor="end">${usText[i]}</text>${gapText[i] ? `<text x="${gapRight.toFixed(1)}" y="${cy + 4}" class="seqt" text-anchor="end">${gapText[i]}</text>` : ''}`);
    const x = x0[e.col]!;
    const label = fit(e.label, x + 10, W - R);
    marks.push(`<rect x="${(x + 7).toFixed(1)}" y="${y + 2}" width="${(label.length * SEQ_CH + 6).toFixed(1)}" height="${SEQ_ROW - 4}" fill="${bg}"/>`);
    marks.push(`<circle cx="${x.toFixed(1)}" cy="${cy}" r="${st ? 5 : 3.5}" fill="${st ? st.dot : PALETTE[e.col % PALETTE.length]}"/>`);
    marks.push(`<text x="${(x + 10).toFixed(1)}" y="${cy + 4}" class="evt${st ? ' role' : ''}" data-cpu="${e.cpu}" data-role="${e.role ?? ''}"><title>cpu ${e.cpu} at ${e.us} µs: ${esc(e.label)}${st ? ` (${st.name})` : ''}</title>${esc(label)}</text>`);
  });
  const heads = columns.map((c, k) => `<text x="${(x0[k]! - 4).toFixed(1)}" y="${T - 8}" class="seqh">${esc(fit(c, x0[k]! - 4, (x0[k + 1] ?? W) - 8))}</text><line x1="${x0[k]!.toFixed(1)}" x2="${x0[k]!.toFixed(1)}" y1="${T - 2}" y2="${H - 6}" class="life"/>`);
  heads.push(`<text x="${usRight.toFixed(1)}" y="${T - 8}" class="seqh" text-anchor="end">µs</text><text x="${gapRight.toFixed(1)}" y="${T - 8}" class="seqh" text-anchor="end">+Δ</text>`);
  return `<svg class="chart seq" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><text x="8" y="18" class="ttl">${esc(o.title)}</text>${rows.join('')}${heads.join('')}${marks.join('')}</svg>`;
}

/** The key to svgSequence's shaded rows, for the page (HTML, so it wraps). */
export function sequenceLegend(seq: Sequence): string {
  const used = new Set(seq.events.map((e) => e.role));
  const what: Record<EventRole, string> = {
    taken: `hugetlb_walk returned page ${seq.page}`,
    stale: `page ${seq.page} cleared from the PUD (unshare) or freed`,
    bad: 'the dereference through the stale pointer',
  };
  const keys = (Object.keys(ROLE_STYLE) as EventRole[]).filter((r) => used.has(r)).map((r) => `<span class="key"><i style="background:${ROLE_STYLE[r].fill};border-color:${ROLE_STYLE[r].dot}"></i>${ROLE_STYLE[r].name}: ${esc(what[r])}</span>`);
  return `<p class="seqkey">${keys.join(' ')}${seq.notes.map((n) => `<br><span class="note">${esc(n)}</span>`).join('')}</p>`;
}
