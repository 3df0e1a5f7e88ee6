import { formatNumber, html } from './format.js';
import type { ReportUsageDay } from './model.js';

/**
 * The usage timeline as an inline SVG line chart: one point per day, anomaly days marked in red and
 * labelled. No library and no script; styling only through presentation attributes so the report's
 * Content-Security-Policy needs no 'unsafe-inline' for styles. Accessible: role="img" with a title
 * and a description that states the numbers a sighted reader gets from the picture.
 */
export interface UsageChartInput {
  /** Prefix for element ids; made safe here. */
  id: string;
  title: string;
  days: readonly ReportUsageDay[];
}

const WIDTH = 720;
const HEIGHT = 260;
const M = { left: 78, right: 24, top: 28, bottom: 58 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;

/** 1, 2 or 5 times a power of ten, at least `max`: axis maxima a reader can take in. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function compact(n: number): string {
  if (n >= 1e9) return `${formatNumber(n / 1e9)}B`;
  if (n >= 1e6) return `${formatNumber(n / 1e6)}M`;
  if (n >= 1e3) return `${formatNumber(n / 1e3)}k`;
  return formatNumber(n);
}

const fixed = (n: number) => (Math.round(n * 10) / 10).toString();

export function usageChartSvg(input: UsageChartInput): string {
  const id = input.id.replace(/[^A-Za-z0-9_-]/g, '_') || 'chart';
  const days = input.days;
  const yMax = niceMax(Math.max(0, ...days.map((d) => d.characters)));
  const x = (i: number) => M.left + (days.length <= 1 ? PLOT_W / 2 : (i * PLOT_W) / (days.length - 1));
  const y = (v: number) => M.top + PLOT_H - (Math.max(0, v) / yMax) * PLOT_H;
  const anomalies = days.filter((d) => d.anomaly);
  const total = days.reduce((s, d) => s + d.characters, 0);
  const active = days.filter((d) => d.characters > 0).length;
  const peak = days.reduce<ReportUsageDay | null>((p, d) => (!p || d.characters > p.characters ? d : p), null);

  const desc = days.length
    ? `Characters synthesised per day from ${days[0]!.date} to ${days[days.length - 1]!.date} (${days.length} days): ` +
      `${formatNumber(total)} in total over ${active} active ${active === 1 ? 'day' : 'days'}` +
      (peak && peak.characters > 0 ? `, peak ${formatNumber(peak.characters)} on ${peak.date}` : '') +
      `. ${anomalies.length ? `Anomaly ${anomalies.length === 1 ? 'day' : 'days'}: ${anomalies.map((d) => `${d.date} (${formatNumber(d.characters)})`).join(', ')}.` : 'No anomaly days.'}`
    : 'No days in the window.';

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="usage-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title id="${id}-title">${html(input.title)}</title>`,
    `<desc id="${id}-desc">${html(desc)}</desc>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  // Gridlines and y labels at 0, half and the (nice) maximum.
  for (const v of [0, yMax / 2, yMax]) {
    parts.push(
      `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${fixed(y(v))}" y2="${fixed(y(v))}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${M.left - 8}" y="${fixed(y(v) + 4)}" text-anchor="end" fill="#57606a">${html(compact(v))}</text>`,
    );
  }
  // Axes and their titles.
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#57606a" stroke-width="1"/>`,
    `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}" stroke="#57606a" stroke-width="1"/>`,
    `<text class="axis-label" x="${M.left + PLOT_W / 2}" y="${HEIGHT - 10}" text-anchor="middle" fill="#24292f">Date (UTC)</text>`,
    `<text class="axis-label" transform="translate(16 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle" fill="#24292f">Characters per day</text>`,
  );
  // X labels: first, middle and last day (more would collide at 90 days).
  const labelled = [...new Set([0, Math.floor((days.length - 1) / 2), days.length - 1])].filter((i) => i >= 0 && i < days.length);
  for (const i of labelled) {
    parts.push(`<text x="${fixed(x(i))}" y="${M.top + PLOT_H + 18}" text-anchor="middle" fill="#57606a">${html(days[i]!.date)}</text>`);
  }
  if (days.length > 1) {
    const points = days.map((d, i) => `${fixed(x(i))},${fixed(y(d.characters))}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="#0969da" stroke-width="1.5" stroke-linejoin="round"/>`);
  }
  let anomalyIndex = 0;
  days.forEach((d, i) => {
    const label = `${d.date}: ${formatNumber(d.characters)} characters, ${formatNumber(d.requests)} ${d.requests === 1 ? 'request' : 'requests'}${d.anomaly ? ' (anomaly)' : ''}`;
    if (d.anomaly) {
      parts.push(
        `<line x1="${fixed(x(i))}" x2="${fixed(x(i))}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#cf222e" stroke-width="1" stroke-dasharray="3 3"/>`,
        // Kept inside the picture near the edges, and staggered so neighbouring anomaly days stay legible.
        `<text x="${fixed(x(i))}" y="${anomalyIndex++ % 2 ? M.top - 18 : M.top - 6}" text-anchor="${x(i) > WIDTH - 110 ? 'end' : x(i) < M.left + 60 ? 'start' : 'middle'}" fill="#cf222e" font-weight="bold">anomaly ${html(d.date)}</text>`,
      );
    }
    parts.push(
      `<circle class="point${d.anomaly ? ' anomaly' : ''}" data-date="${html(d.date)}" cx="${fixed(x(i))}" cy="${fixed(y(d.characters))}" r="${d.anomaly ? 5 : 2.5}" fill="${d.anomaly ? '#cf222e' : '#0969da'}"><title>${html(label)}</title></circle>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A one-line text picture of the same series for Markdown and terminals: one block per day, · for none. */
export function sparkline(days: readonly ReportUsageDay[]): string {
  const blocks = '▁▂▃▄▅▆▇█';
  const max = Math.max(0, ...days.map((d) => d.characters));
  return days
    .map((d) => {
      if (d.characters <= 0) return '·';
      const level = max > 0 ? Math.min(blocks.length - 1, Math.floor((d.characters / max) * (blocks.length - 1) + 0.5)) : 0;
      return blocks[level]!;
    })
    .join('');
}

/** The line under a sparkline: ▲ under each anomaly day. */
export function anomalyMarks(days: readonly ReportUsageDay[]): string {
  return days.map((d) => (d.anomaly ? '▲' : ' ')).join('').replace(/\s+$/, '');
}
