// What the console draws: charts (the vendored Chart.js), tables, and raw JSON.
import { parseTime } from './queries.js';

const PALETTE = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#ec4899',
  '#14b8a6', '#f97316', '#64748b', '#84cc16', '#06b6d4'];
const colors = new Map();
const numbers = new Intl.NumberFormat('en');

// One color per EventType for the whole session, so a type keeps its color as data changes.
export function colorOf(name) {
  if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
  return colors.get(name);
}

export const formatNumber = (n) => numbers.format(n);

function pad(n) { return String(n).padStart(2, '0'); }

// A bin's label in UTC: the time of day, with the date for day bins or a range over a day.
export function timeLabel(ms, stepMs, spanMs) {
  const d = new Date(ms);
  const date = `${d.toLocaleString('en', { month: 'short', timeZone: 'UTC' })} ${d.getUTCDate()}`;
  if (stepMs >= 86400e3) return date;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return spanMs > 86400e3 ? `${date} ${time}` : time;
}

export function eventTimeText(text) {
  const d = new Date(parseTime(text));
  if (Number.isNaN(d.getTime())) return text || '';
  return `${d.toISOString().slice(0, 10)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// Stacked bars (counts by EventType) or lines (any other summary), drawn without animation
// so a live refresh does not flicker.
function chartOptions(kind) {
  const stacked = kind === 'bar';
  return {
    animation: false, responsive: true, maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { display: !stacked, position: 'bottom' },
      tooltip: { itemSort: (a, b) => b.raw - a.raw, filter: (item) => item.raw > 0 } },
    scales: {
      x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 18, color: '#6b7280' } },
      y: { stacked, beginAtZero: true, grid: { color: '#eef0f4' }, border: { display: false },
        ticks: { precision: 0, color: '#6b7280' } },
    },
  };
}

// Draws `series` ({label, values}) over `labels` on `canvas`, replacing its previous chart.
export function drawChart(canvas, kind, labels, series) {
  const datasets = series.map(({ label, values }) => ({
    label, data: values, backgroundColor: colorOf(label), borderColor: colorOf(label),
    borderRadius: kind === 'bar' ? 2 : 0, categoryPercentage: 0.9, barPercentage: 0.95,
    pointRadius: kind === 'line' ? 2 : 0, tension: 0.25, fill: false,
  }));
  const existing = Chart.getChart(canvas);
  if (existing && existing.config.type === kind) {
    existing.data.labels = labels;
    existing.data.datasets = datasets;
    existing.update('none');
    return existing;
  }
  if (existing) existing.destroy();
  return new Chart(canvas, { type: kind, data: { labels, datasets }, options: chartOptions(kind) });
}

// Rows of `{time, key, value}` as one series per key over every bin from `start` (zeros
// where a key had no rows), for a chart.
export function binSeries(rows, start, end, stepMs) {
  const first = Math.floor(start / stepMs) * stepMs;
  const bins = [];
  for (let t = first; t <= end; t += stepMs) bins.push(t);
  const index = new Map(bins.map((t, i) => [t, i]));
  const byKey = new Map();
  for (const { time, key, value } of rows) {
    if (!byKey.has(key)) byKey.set(key, new Array(bins.length).fill(0));
    const i = index.get(time);
    if (i !== undefined) byKey.get(key)[i] += value;
  }
  const series = [...byKey].map(([label, values]) => ({ label, values }))
    .sort((a, b) => sum(b.values) - sum(a.values));
  return { bins, series };
}

const sum = (values) => values.reduce((a, b) => a + b, 0);

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
}

export function el(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  Object.assign(node.dataset, dataset);
  for (const child of children) node.append(child);
  return node;
}

function cellText(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

// A Preview result as a table: one column per result column, in order.
export function drawResultTable(table, columns, items) {
  clear(table);
  const head = el('tr', {}, ...columns.map((c) => el('th', { title: c.type }, c.name)));
  const rows = items.map((item) => el('tr', {}, ...columns.map((c) => {
    const text = cellText(item[c.name]);
    return el('td', { title: text, className: c.type === 'dynamic' ? 'code' : '' }, text);
  })));
  table.append(el('thead', {}, head), el('tbody', {}, ...rows));
}

// JSON with its keys, strings, numbers and literals marked for color; text only, never HTML.
export function drawJson(pre, value) {
  clear(pre);
  const text = JSON.stringify(value, null, 2);
  const token = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const match of text.matchAll(token)) {
    pre.append(text.slice(last, match.index));
    const kind = match[1] ? (match[2] ? 'key' : 'string') : match[3] ? 'literal' : 'number';
    pre.append(el('span', { className: `j-${kind}` }, match[1] || match[0]));
    if (match[2]) pre.append(match[2]);
    last = match.index + match[0].length;
  }
  pre.append(text.slice(last));
}
