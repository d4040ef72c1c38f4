// The scope's segments and filter definitions, read-only: two tables from the Segments and
// FilterDefinitions routes of this server, refreshed with the rest of the page.
import { listDefinitions, listSegments } from './api.js';
import { clear, el, eventTimeText, formatNumber } from './views.js';

const $ = (id) => document.getElementById(id);
const PAGE = 200;  // the first page of each, by name; the count says when there are more

function valuesText(parameters) {
  return Object.entries(parameters || {})
    .map(([name, value]) => `${name} = ${JSON.stringify(value)}`).join(', ');
}

function declaredText(parameters) {
  return (parameters || []).map((p) => `${p.Name}: ${p.Type}`).join(', ');
}

function cell(text, className = '') {
  return el('td', { title: text, className }, text);
}

function segmentRow(segment) {
  const computed = segment.ComputedAt ? eventTimeText(segment.ComputedAt) : 'not yet';
  const error = segment.LastError || '';
  return el('tr', { dataset: { name: segment.Name } },
    cell(segment.Name, 'code'), cell(segment.FilterDefinition, 'code'),
    cell(valuesText(segment.Parameters), 'code'),
    cell(segment.ComputedAt ? formatNumber(segment.DeviceCount) : '', 'number'),
    cell(computed, 'time'), cell(segment.RefreshInterval), cell(error, error ? 'error-text' : ''));
}

function definitionRow(definition) {
  return el('tr', { dataset: { name: definition.Name } },
    cell(definition.Name, 'code'), cell(definition.Category || ''),
    cell(declaredText(definition.Parameters), 'code'), cell(definition.Query, 'code'),
    cell(definition.Description || ''));
}

function drawRows(id, items, more, draw) {
  const body = $(id).tBodies[0];
  clear(body);
  body.append(...items.map(draw));
  $(`${id}-empty`).hidden = items.length > 0;
  $(`${id}-count`).textContent = `${formatNumber(items.length)}${more ? '+' : ''}`;
}

export async function refreshSegments(scope) {
  const [segments, definitions] = await Promise.all([
    listSegments(scope, PAGE), listDefinitions(scope, PAGE)]);
  drawRows('segments', segments.items, segments.nextPageToken, segmentRow);
  drawRows('definitions', definitions.items, definitions.nextPageToken, definitionRow);
}
