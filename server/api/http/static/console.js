// The events console: a chart of incoming events by EventType, the most recent events, the
// filters, each event's raw JSON, the scope's segments and filter definitions, and a KQL box.
// Every figure comes from the Profile Store routes of this server (Preview, List, Segments and
// FilterDefinitions); nothing is loaded from elsewhere.
import { ApiError, apiKey, list, onKeyNeeded, preview } from './api.js';
import { refreshSegments } from './segments.js';
import {
  DEFAULT_STEP, RANGES, STEPS, chartQuery, isTimeSummary, parseTime, recentFilter, recentQuery,
  typesQuery, whereErrorColumn,
} from './queries.js';
import {
  binSeries, clear, colorOf, drawChart, drawJson, drawResultTable, el, eventTimeText,
  formatNumber, timeLabel,
} from './views.js';

const $ = (id) => document.getElementById(id);
const RECENT_ROWS = 50;
const LIVE_SECONDS = 5;
const POSITION = /^line \d+, column \d+: /;
// A chart of more bars than this (a minute a bar over a day) is offered no finer step.
const MAX_BINS = 1440;
let refreshing = false;

function readFilters() {
  return {
    scope: $('filter-scope').value.trim() || 'default',
    range: $('filter-range').value,
    step: $('filter-step').value,
    eventType: $('filter-event-type').value,
    deviceId: $('filter-device').value.trim(),
    where: $('filter-where').value.trim(),
  };
}

// A Preview of a query the console made; its error keeps the query, to place the error.
function previewing(scope, query) {
  return preview(scope, query).catch((error) => { throw Object.assign(error, { query }); });
}

// -- the chart and its legend ---------------------------------------------------------------

async function refreshChart(filters, now) {
  const answer = await previewing(filters.scope, chartQuery(filters));
  const rows = answer.items.map((item) => ({
    time: parseTime(item.EventTime), key: item.EventType || "''", value: item.count_,
  }));
  const stepMs = STEPS[filters.step];
  const { bins, series } = binSeries(rows, now - RANGES[filters.range], now, stepMs);
  const labels = bins.map((t) => timeLabel(t, stepMs, RANGES[filters.range]));
  drawChart($('chart'), 'bar', labels, series);
  const total = series.reduce((all, s) => all + s.values.reduce((a, b) => a + b, 0), 0);
  $('chart-total').textContent = `${formatNumber(total)} events${answer.truncated ? ' (first 1000 bins: choose a coarser step)' : ''}`;
  $('chart-empty').hidden = total > 0;
  drawLegend(series);
}

function drawLegend(series) {
  const legend = $('legend');
  clear(legend);
  for (const { label, values } of series) {
    const count = values.reduce((a, b) => a + b, 0);
    legend.append(el('li', { dataset: { type: label } },
      el('span', { className: 'swatch', style: `background:${colorOf(label)}` }),
      el('span', { className: 'type' }, label), el('span', { className: 'count' }, formatNumber(count))));
  }
}

// The EventType filter offers the types of the range (whatever type is chosen).
async function refreshTypes(filters) {
  const answer = await previewing(filters.scope, typesQuery(filters));
  const select = $('filter-event-type');
  const chosen = select.value;
  const types = answer.items.map((item) => item.EventType).filter((t) => t);
  types.forEach(colorOf);
  if (chosen && !types.includes(chosen)) types.unshift(chosen);
  clear(select);
  select.append(el('option', { value: '' }, 'All'));
  for (const type of types) select.append(el('option', { value: type }, type));
  select.value = chosen;
}

// -- recent events --------------------------------------------------------------------------

async function refreshRecent(filters) {
  let answer;
  if (filters.where) {
    answer = await previewing(filters.scope, recentQuery(filters, RECENT_ROWS));
    $('events-source').textContent = 'newest first · POST /api/v2.0/TrackEvents/preview';
  } else {
    answer = await list(filters.scope, recentFilter(filters), 'EventTime desc', RECENT_ROWS);
    $('events-source').textContent = 'newest first · GET /api/v2.0/TrackEvents';
  }
  drawEvents(answer.items);
}

function drawEvents(items) {
  const body = $('events').tBodies[0];
  clear(body);
  for (const item of items) {
    const type = el('span', { className: 'pill' }, item.EventType || '');
    type.style.setProperty('--pill', colorOf(item.EventType || "''"));
    const row = el('tr', { dataset: { trackId: item.TrackId || '' }, tabIndex: 0, title: 'Show the raw JSON' },
      el('td', { className: 'time' }, eventTimeText(item.EventTime)), el('td', {}, type),
      el('td', { className: 'code' }, item.DeviceId || ''), el('td', {}, item.Value || ''),
      el('td', { className: 'uri' }, item.PageUri || ''), el('td', {}, item.CountryCode || ''));
    row.addEventListener('click', () => showEvent(item));
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter') showEvent(item); });
    body.append(row);
  }
  $('events-empty').hidden = items.length > 0;
}

function showEvent(item) {
  $('event-title').textContent = item.TrackId || '';
  drawJson($('event-json'), item);
  $('event-copy').onclick = () => navigator.clipboard?.writeText(JSON.stringify(item, null, 2));
  $('event-dialog').showModal();
}

// -- refreshing -----------------------------------------------------------------------------

function showFilterError(error, filters) {
  const box = $('filter-error');
  clear(box);
  box.hidden = !error;
  if (!error) return;
  const column = error instanceof ApiError && error.query ? whereErrorColumn(error.query, error, filters.where) : null;
  if (column === null) {
    box.append(error.message);
    return;
  }
  box.append(`KQL where, column ${column}: ${error.message.replace(POSITION, '')}`,
    el('pre', {}, `${filters.where}\n${' '.repeat(column - 1)}^`));
}

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  const filters = readFilters();
  const now = Date.now();
  try {
    // The types first: they take their colors in order of frequency, the same on every load.
    await refreshTypes(filters);
    await Promise.all([refreshChart(filters, now), refreshRecent(filters),
      refreshSegments(filters.scope)]);
    showFilterError(null, filters);
    $('updated').textContent = `updated ${new Date(now).toISOString().slice(11, 19)} UTC`;
  } catch (error) {
    showFilterError(error, filters);
  } finally {
    refreshing = false;
  }
}

// -- the KQL box ----------------------------------------------------------------------------

function showQueryError(input, error) {
  const box = $('kql-error');
  clear(box);
  const { line, column } = error.inner || {};
  box.append(error.message);
  if (line && column) {
    const source = input.value.split('\n')[line - 1] ?? '';
    box.append(el('pre', {}, `${String(line).padStart(3)} | ${source}\n      ${' '.repeat(column - 1)}^`));
    const offset = input.value.split('\n').slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    input.focus();
    input.setSelectionRange(offset, Math.min(offset + 1, input.value.length));
  }
  box.hidden = false;
}

function drawQueryChart(query, answer) {
  const box = $('kql-chart-box');
  const time = answer.columns.find((c) => c.type === 'datetime');
  const measure = answer.columns.find((c) => ['long', 'int', 'real', 'decimal'].includes(c.type));
  box.hidden = !(isTimeSummary(query) && time && measure && answer.items.length);
  if (box.hidden) return;
  const keys = answer.columns.filter((c) => c !== time && c !== measure && c.type === 'string');
  const times = [...new Set(answer.items.map((i) => parseTime(i[time.name])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = new Map();
  for (const item of answer.items) {
    const label = keys.map((k) => item[k.name]).join(' · ') || measure.name;
    if (!series.has(label)) series.set(label, new Array(times.length).fill(0));
    series.get(label)[index.get(parseTime(item[time.name]))] += Number(item[measure.name]) || 0;
  }
  const span = times.length ? times[times.length - 1] - times[0] : 0;
  const step = times.length > 1 ? times[1] - times[0] : 60e3;
  drawChart($('kql-chart'), 'line', times.map((t) => timeLabel(t, step, span)),
    [...series].map(([label, values]) => ({ label, values })));
}

async function runQuery() {
  const input = $('kql-input');
  const query = input.value;
  $('kql-error').hidden = true;
  $('kql-status').textContent = 'running…';
  try {
    const started = performance.now();
    const answer = await preview(readFilters().scope, query);
    const ms = Math.round(performance.now() - started);
    $('kql-status').textContent = `${formatNumber(answer.count)} rows${answer.truncated ? ' (truncated at 1000)' : ''} · ${ms} ms`;
    drawQueryChart(query, answer);
    drawResultTable($('kql-table'), answer.columns, answer.items);
  } catch (error) {
    $('kql-status').textContent = '';
    $('kql-chart-box').hidden = true;
    clear($('kql-table'));
    showQueryError(input, error);
  }
}

// -- the API key ----------------------------------------------------------------------------

let keyAsked = null;

function askForKey(problem) {
  keyAsked ??= new Promise((resolve, reject) => {
    const dialog = $('key-dialog');
    $('key-error').textContent = problem;
    $('key-error').hidden = !problem;
    $('key-input').value = '';
    dialog.onclose = () => {
      keyAsked = null;
      const key = $('key-input').value.trim();
      if (dialog.returnValue === 'use' && key) {
        apiKey.set(key);
        resolve();
      } else {
        $('live').checked = false;  // no key: stop asking every few seconds
        reject(new Error('This server needs an API key: choose "API key" above to enter one.'));
      }
    };
    dialog.returnValue = '';
    dialog.showModal();
  });
  return keyAsked;
}

// -- wiring ---------------------------------------------------------------------------------

// The range's default step, and no step that would draw more than MAX_BINS bars.
function fitStep() {
  const range = $('filter-range').value;
  for (const option of $('filter-step').options) {
    option.disabled = RANGES[range] / STEPS[option.value] > MAX_BINS;
  }
  $('filter-step').value = DEFAULT_STEP[range];
}

function wire() {
  onKeyNeeded(askForKey);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
  $('filter-range').addEventListener('change', () => { fitStep(); refresh(); });
  for (const id of ['filter-step', 'filter-event-type']) $(id).addEventListener('change', refresh);
  $('event-close').addEventListener('click', () => $('event-dialog').close());
  $('key-save').addEventListener('click', (e) => { e.preventDefault(); $('key-dialog').close('use'); });
  $('key-forget').addEventListener('click', () => { apiKey.set(''); $('key-dialog').close(''); });
  $('key-button').addEventListener('click', () => askForKey('').then(refresh, () => {}));
  $('kql-run').addEventListener('click', runQuery);
  $('kql-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runQuery(); }
  });
  setInterval(() => {
    if ($('live').checked && !document.hidden && !$('event-dialog').open) refresh();
  }, LIVE_SECONDS * 1000);
}

wire();
fitStep();
refresh();
