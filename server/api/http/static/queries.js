// The console's queries, built from the filters: KQL for Preview (the chart, the EventTypes,
// recent events with a KQL where clause) and OData for List (recent events otherwise).
// Values are quoted here; the user's own KQL where clause goes on a line of its own, so an
// error in it is reported at its own column.

export const RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '1d': 86400e3,
  '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
export const STEPS = { '1m': 60e3, '1h': 3600e3, '1d': 86400e3 };
// The step a range is shown in unless the user picks another.
export const DEFAULT_STEP = { '15m': '1m', '1h': '1m', '6h': '1h', '1d': '1h', '7d': '1d', '30d': '1d' };
export const WHERE_PREFIX = '| where ';

const oneLine = (text) => text.replace(/\s*\n\s*/g, ' ');

export function kqlString(text) {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function odataString(text) {
  return `'${text.replace(/'/g, "''")}'`;
}

// The lines of `Events | where ...` for the filters; `withType` false leaves EventType out
// (the list of EventTypes must not narrow itself to the one chosen).
function whereLines(filters, withType = true) {
  const lines = ['Events', `| where EventTime > ago(${filters.range})`];
  const tests = [];
  if (withType && filters.eventType) tests.push(`EventType == ${kqlString(filters.eventType)}`);
  if (filters.deviceId) tests.push(`DeviceId == ${kqlString(filters.deviceId)}`);
  if (tests.length) lines.push(`| where ${tests.join(' and ')}`);
  if (filters.where) lines.push(WHERE_PREFIX + oneLine(filters.where));
  return lines;
}

export function chartQuery(filters) {
  return [...whereLines(filters),
    `| summarize count() by bin(EventTime, ${filters.step}), EventType`].join('\n');
}

export function typesQuery(filters) {
  return [...whereLines(filters, false),
    '| summarize n = count() by EventType', '| top 50 by n desc'].join('\n');
}

export function recentQuery(filters, top) {
  return [...whereLines(filters), `| top ${top} by EventTime desc`].join('\n');
}

// The List $filter of the filters without a KQL where clause.
export function recentFilter(filters, now = Date.now()) {
  const since = new Date(now - RANGES[filters.range]).toISOString();
  const tests = [`EventTime gt ${since}`];
  if (filters.eventType) tests.push(`EventType eq ${odataString(filters.eventType)}`);
  if (filters.deviceId) tests.push(`DeviceId eq ${odataString(filters.deviceId)}`);
  return tests.join(' and ');
}

// The column (1-based) in the user's where clause of an error of a query made by whereLines,
// or null when the error is elsewhere.
export function whereErrorColumn(query, error, where) {
  const line = query.split('\n')[(error.inner.line || 0) - 1];
  if (!where || line !== WHERE_PREFIX + oneLine(where)) return null;
  return Math.max(1, error.inner.column - WHERE_PREFIX.length);
}

// A KQL query the console draws as a chart: a summarize by bin(EventTime, ...).
export function isTimeSummary(query) {
  return /\bsummarize\b[\s\S]*\bby\b[\s\S]*\bbin\s*\(\s*EventTime\b/i.test(query);
}

// .NET's seven fractional digits are more than Date.parse is sure to take.
export function parseTime(text) {
  return Date.parse(text.replace(/(\.\d{3})\d*Z$/, '$1Z'));
}
