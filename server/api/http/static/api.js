// Calls to the Profile Store routes of this server. The API key, when the server asks for one
// (401), is kept in sessionStorage only: it is gone when the tab closes.

const KEY_STORAGE = 'trackstore.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.target = error.target;
    this.inner = error.innererror || {};
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_STORAGE) || '',
  set: (key) => (key ? sessionStorage.setItem(KEY_STORAGE, key) : sessionStorage.removeItem(KEY_STORAGE)),
};

// Set by the page: shows the key dialog and resolves once a key was entered (or rejects).
let askForKey = async () => { throw new Error('no API key'); };
export function onKeyNeeded(ask) { askForKey = ask; }

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (apiKey.get()) headers.Authorization = `epi-single ${apiKey.get()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const document = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, document);
  return document;
}

// One call; on 401 the key dialog opens, and the call is made again with the key entered.
export async function api(method, path, body) {
  for (;;) {
    try {
      return await send(method, path, body);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await askForKey(apiKey.get() ? 'The API key was not accepted.' : '');
    }
  }
}

export function preview(scope, query) {
  return api('POST', '/api/v2.0/TrackEvents/preview', { Query: query, Scope: scope });
}

export function list(scope, filter, orderby, top) {
  const params = new URLSearchParams({ scope, $orderby: orderby, $top: String(top) });
  if (filter) params.set('$filter', filter);
  return api('GET', `/api/v2.0/TrackEvents?${params}`);
}

// One page (up to `top`) of the scope's filter definitions or segments, by name.
function firstPage(path, scope, top) {
  const params = new URLSearchParams({ scope, $top: String(top) });
  return api('GET', `${path}?${params}`);
}

export const listDefinitions = (scope, top) => firstPage('/api/v2.0/FilterDefinitions', scope, top);
export const listSegments = (scope, top) => firstPage('/api/v2.0/Segments', scope, top);
