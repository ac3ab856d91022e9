// Strom console: a small single-page app over the broker's /v1 JSON API.
//
// No framework, no build step. Each page clones its <template> from
// index.html once; every poll then replaces only the data parts (table
// rows, numbers, charts), so selects, inputs and open dialogs keep their
// state. All server data is untrusted: it reaches the page through
// textContent and attributes, never through innerHTML.

const POLL_MS = 2000;
const TOAST_MS = 3500;
const CHART_HEIGHT = 230;

// ---------------------------------------------------------------- formatting

const integers = new Intl.NumberFormat('en-US');
const decimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);
const formatNumber = (value) => (isNumber(value) ? integers.format(value) : '—');
const formatDecimal = (value) => (isNumber(value) ? decimals.format(value) : '—');
const plural = (count, word) => `${formatNumber(count)} ${word}${count === 1 ? '' : 's'}`;

function formatBytes(value) {
  if (!isNumber(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

// Axis labels: short, without trailing zeros (2.5k, 10k, 1.25M).
function formatShort(value, base = 1000, suffixes = ['', 'k', 'M', 'G']) {
  let step = 0;
  while (Math.abs(value) >= base && step < suffixes.length - 1) {
    value /= base;
    step += 1;
  }
  return `${Number(value.toFixed(Math.abs(value) < 10 ? 2 : 1))}${suffixes[step]}`;
}

const formatBytesShort = (value) => formatShort(value, 1024, ['B', 'K', 'M', 'G']);
const pad = (value, width = 2) => String(value).padStart(width, '0');

// Local time in ISO order: 2024-12-05 04:40:00.123
function formatTimestamp(ms) {
  if (!isNumber(ms) || ms < 0) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(ms)}.${pad(d.getMilliseconds(), 3)}`;
}

function formatClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// How long before the newest sample: "now", "−30s", "−2m", "−1m 20s".
function formatAgo(ms) {
  const seconds = Math.round(ms / 1000);
  if (seconds <= 0) return 'now';
  const minutes = Math.floor(seconds / 60);
  if (minutes === 0) return `−${seconds}s`;
  return seconds % 60 === 0 ? `−${minutes}m` : `−${minutes}m ${seconds % 60}s`;
}

// ------------------------------------------------------------------ the DOM

// Builds an element. String children become text nodes, so server data
// given here is never parsed as HTML.
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

const cell = (content, cls) => el('td', { class: cls }, content);
const numberCell = (value, cls = '') => el('td', { class: `num ${cls}`.trim() }, formatNumber(value));
const mutedNull = () => el('span', { class: 'null' }, 'null');
const cloneTemplate = (id) => document.getElementById(id).content.firstElementChild.cloneNode(true);
const topicLink = (name) => el('a', { href: `#/topics/${encodeURIComponent(name)}` }, name);
const groupLink = (id) => el('a', { href: `#/groups/${encodeURIComponent(id)}` }, id);

function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

const rowSignatures = new WeakMap();

// Re-renders a table body keyed by row. A row whose data did not change
// keeps its element, so a link the user (or a test) is about to click is
// not swapped away under the pointer every two seconds.
function renderRows(tbody, models, { key, build, empty, columns }) {
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  const rows = models.map((model) => {
    const signature = JSON.stringify(model);
    const old = existing.get(String(key(model)));
    if (old && rowSignatures.get(old) === signature) return old;
    const row = build(model);
    row.dataset.key = String(key(model));
    rowSignatures.set(row, signature);
    return row;
  });
  if (rows.length === 0) rows.push(el('tr', { class: 'empty-row' }, el('td', { colspan: columns }, empty)));
  const unchanged = rows.length === tbody.rows.length && rows.every((row, i) => row === tbody.rows[i]);
  if (!unchanged) tbody.replaceChildren(...rows);
}

// Rebuilds a select's options only when the list changed, keeping the
// user's choice while it is still offered.
function syncSelectOptions(select, options) {
  const wanted = JSON.stringify(options);
  if (select.dataset.options === wanted) return;
  const previous = select.value;
  select.replaceChildren(...options.map(([value, label]) => el('option', { value }, label)));
  select.dataset.options = wanted;
  if (options.some(([value]) => value === previous)) select.value = previous;
}

function statePill(state) {
  const name = typeof state === 'string' && state ? state : 'Unknown';
  return el('span', { class: `pill state-${name.toLowerCase().replace(/[^a-z]/g, '')}` }, name);
}

// ----------------------------------------------------------- banner, toasts

const errorBanner = document.getElementById('error');

function showError(message) {
  setText(errorBanner, message);
  errorBanner.hidden = false;
}

function hideError() {
  errorBanner.hidden = true;
}

function showToast(message) {
  const toast = el('div', { class: 'toast', role: 'status' }, message);
  document.getElementById('toasts').append(toast);
  setTimeout(() => toast.remove(), TOAST_MS);
}

// A safety net: a promise nobody caught must not become a console error.
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError(`Unexpected error: ${describeError(event.reason)}`);
});

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

function describeError(error) {
  if (error instanceof ApiError && error.status) return `${error.message} (HTTP ${error.status} from ${error.path})`;
  return error instanceof Error ? error.message : String(error);
}

const isNotFound = (error) => error instanceof ApiError && error.status === 404;

// Errors come as {"error": "..."}, or as plain text while the broker is
// busy or starting.
async function readErrorMessage(response) {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === 'string') return body.error;
  } catch {
    // plain text: it is the message
  }
  return text.trim() || response.statusText || `HTTP ${response.status}`;
}

async function request(method, path, body) {
  const options = { method, cache: 'no-store' };
  if (method !== 'GET') {
    // The CSRF guard: the broker refuses actions without this header.
    options.headers = { 'X-Strom-Console': '1', 'Content-Type': 'application/json' };
    if (body !== undefined) options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, 'Cannot reach the broker', path);
  }
  if (!response.ok) throw new ApiError(response.status, await readErrorMessage(response), path);
  try {
    return await response.json();
  } catch {
    throw new ApiError(response.status, 'The broker answered something that is not JSON', path);
  }
}

const topicPath = (name) => `/v1/topics/${encodeURIComponent(name)}`;
const groupPath = (id) => `/v1/groups/${encodeURIComponent(id)}`;

const api = {
  cluster: () => request('GET', '/v1/cluster'),
  topics: () => request('GET', '/v1/topics'),
  topic: (name) => request('GET', topicPath(name)),
  records: (name, query) => request('GET', `${topicPath(name)}/records?${new URLSearchParams(query)}`),
  groups: () => request('GET', '/v1/groups'),
  group: (id) => request('GET', groupPath(id)),
  history: (filter) => request('GET', filter ? `/v1/history?${new URLSearchParams(filter)}` : '/v1/history'),
  createTopic: (body) => request('POST', '/v1/topics', body),
  deleteTopic: (name) => request('DELETE', topicPath(name)),
  resetOffsets: (id, body) => request('POST', `${groupPath(id)}/reset-offsets`, body),
};

// One poll's fetches. A failure is noted for the banner and gives null,
// so one failing endpoint does not blank the rest of the page.
class PollRound {
  errors = [];

  async get(load) {
    try {
      return await load();
    } catch (error) {
      this.errors.push(error);
      return null;
    }
  }

  report() {
    if (this.errors.length === 0) hideError();
    else showError(`${describeError(this.errors[0])} — retrying every ${POLL_MS / 1000} s`);
  }
}

// -------------------------------------------------- cluster and permissions

// What /v1/cluster said last. Until it answers, actions stay hidden.
const clusterState = { cluster: null, readOnly: true, browseRecords: true, reason: null };

async function loadCluster(round) {
  const cluster = await round.get(api.cluster);
  if (!cluster) return null;
  const settings = cluster.console ?? {};
  Object.assign(clusterState, {
    cluster,
    readOnly: settings.read_only === true,
    browseRecords: settings.browse_records !== false,
    reason: typeof settings.reason === 'string' ? settings.reason : null,
  });
  setText(document.getElementById('cluster-id'), String(cluster.cluster_id ?? '—'));
  setText(document.getElementById('node-id'), String(cluster.node_id ?? '—'));
  document.getElementById('version-chip').hidden = typeof cluster.version !== 'string';
  setText(document.getElementById('version'), String(cluster.version ?? ''));
  const badge = document.getElementById('read-only-badge');
  badge.hidden = !clusterState.readOnly;
  badge.title = clusterState.reason ?? 'The console is read-only';
  return cluster;
}

// An action button shows only when the console may act (and the page's
// own condition holds, e.g. "not an internal topic").
function showAction(button, allowedHere = true) {
  button.hidden = !(allowedHere && clusterState.cluster !== null && !clusterState.readOnly);
}

// ------------------------------------------------------------------ history

// Rates from cumulative counters: the difference of consecutive samples
// over the time between them, at the later sample. A counter that went
// down (a restart) gives a gap, not a negative rate.
function ratesFromHistory(samples, field) {
  const times = [];
  const values = [];
  for (let i = 1; i < samples.length; i += 1) {
    const seconds = (samples[i].time_ms - samples[i - 1].time_ms) / 1000;
    const [before, after] = [samples[i - 1][field], samples[i][field]];
    times.push(samples[i].time_ms);
    const valid = seconds > 0 && isNumber(before) && isNumber(after) && after >= before;
    values.push(valid ? (after - before) / seconds : null);
  }
  return { times, values };
}

function lastValue(values) {
  return [...values].reverse().find(isNumber) ?? null;
}

const samplesOf = (history) => (Array.isArray(history?.samples) ? history.samples : []);

function collectingText(history) {
  const seconds = isNumber(history?.interval_ms) ? history.interval_ms / 1000 : 5;
  return `collecting… (a sample every ${seconds} s)`;
}

// ------------------------------------------------------------------- charts

// A y scale from 0 in `intervals` steps of a nice size (1, 2, 2.5, 5 × 10^n).
function niceScale(maximum, intervals) {
  const raw = (maximum > 0 ? maximum : 1) / intervals;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((nice) => raw <= nice * magnitude * (1 + 1e-9)) * magnitude;
  return { step, max: step * intervals };
}

// A smooth line through the points as cubic Béziers. Each point's slope is
// its neighbours' average, flat at peaks and valleys and limited to three
// times either side's slope: then the curve never overshoots its samples,
// so a rate never dips below zero between them (Fritsch–Carlson).
function smoothPath(points) {
  const slope = (a, b) => (b.y - a.y) / (b.x - a.x);
  const slopes = points.map((point, i) => {
    const [prev, next] = [points[i - 1], points[i + 1]];
    if (!prev || !next) return prev ? slope(prev, point) : next ? slope(point, next) : 0;
    const [left, right] = [slope(prev, point), slope(point, next)];
    if (left * right <= 0) return 0;
    return Math.sign(left) * Math.min(Math.abs(left + right) / 2, 3 * Math.abs(left), 3 * Math.abs(right));
  });
  let path = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i += 1) {
    const [a, b] = [points[i - 1], points[i]];
    const third = (b.x - a.x) / 3;
    path += `C${a.x + third},${a.y + slopes[i - 1] * third} ${b.x - third},${b.y - slopes[i] * third} ${b.x},${b.y}`;
  }
  return path;
}

// Runs of consecutive known values: an unknown one (lag null) breaks the
// line instead of drawing it down to zero.
function runsOfPoints(times, values, toPoint) {
  const runs = [[]];
  times.forEach((time, i) => {
    if (isNumber(values[i])) runs[runs.length - 1].push(toPoint(time, values[i]));
    else if (runs[runs.length - 1].length) runs.push([]);
  });
  return runs.filter((run) => run.length > 0);
}

// The SVG line/area chart over time used for every chart. update() takes
// { times: [ms], emptyText, series: [{ label, values, color: 0..2,
// format(value), axis: 'left'|'right', axisFormat(value) }] }.
// The viewBox follows the container's pixel width, so text stays crisp;
// a ResizeObserver redraws it when the container resizes.
class LineChart {
  constructor(svg) {
    this.svg = svg;
    this.wrap = svg.parentElement;
    this.data = null;
    this.geometry = null;
    this.hoverClientX = null;
    this.legend = el('div', { class: 'chart-legend', hidden: true });
    this.tooltip = el('div', { class: 'chart-tooltip', hidden: true });
    this.wrap.prepend(this.legend);
    this.wrap.append(this.tooltip);
    svg.addEventListener('pointermove', (event) => this.hover(event.clientX));
    svg.addEventListener('pointerleave', () => this.hover(null));
    // Only a new width needs a redraw (the height is fixed by the CSS).
    this.resizeObserver = new ResizeObserver(() => {
      if (this.wrap.clientWidth !== this.renderedWidth) this.render();
    });
    this.resizeObserver.observe(this.wrap);
  }

  update(data) {
    this.data = data;
    this.render();
  }

  dispose() {
    this.resizeObserver.disconnect();
  }

  render() {
    const width = this.wrap.clientWidth;
    if (width === 0 || !this.data) return;
    this.renderedWidth = width;
    const { times, series } = this.data;
    this.svg.setAttribute('viewBox', `0 0 ${width} ${CHART_HEIGHT}`);
    this.svg.replaceChildren();
    this.geometry = null;
    this.legend.replaceChildren(...series.map((s) => el('span', { class: 'legend-item' },
      el('span', { class: `swatch color-${s.color}` }), s.label)));
    this.legend.hidden = series.length < 2;
    if (times.length < 2 || !series.some((s) => s.values.some(isNumber))) {
      // Faint empty gridlines, so the card does not look broken while waiting.
      for (let i = 0; i <= 3; i += 1) {
        const lineY = 14 + (i * (CHART_HEIGHT - 42)) / 3;
        this.svg.append(svgEl('line', { x1: 56, x2: width - 18, y1: lineY, y2: lineY, class: 'grid' }));
      }
      this.svg.append(this.text(width / 2, CHART_HEIGHT / 2 + 4, this.data.emptyText, 'middle', 'chart-empty'));
      this.hover(null);
      return;
    }
    this.geometry = this.layout(width);
    this.drawGrid();
    this.drawTimeAxis();
    series.forEach((s, index) => this.drawSeries(s, index));
    this.hoverLayer = this.svg.appendChild(svgEl('g'));
    this.hover(this.hoverClientX);
  }

  layout(width) {
    const { times, series } = this.data;
    const right = series.some((s) => s.axis === 'right');
    const plot = { left: 56, right: width - (right ? 62 : 18), top: 14, bottom: CHART_HEIGHT - 28 };
    const maxOf = (axis) => Math.max(0, ...series.filter((s) => (s.axis ?? 'left') === axis)
      .flatMap((s) => s.values.filter(isNumber)));
    // 3 or 4 gridline steps, whichever wastes less height; both axes share them.
    const leftMax = maxOf('left');
    const intervals = niceScale(leftMax, 4).max <= niceScale(leftMax, 3).max ? 4 : 3;
    const scales = { left: niceScale(leftMax, intervals), right: niceScale(maxOf('right'), intervals) };
    const end = times[times.length - 1];
    const start = Math.min(times[0], end - 60000); // at least a minute wide
    return {
      width, plot, scales, intervals, start, end, right,
      x: (time) => plot.left + ((time - start) / (end - start)) * (plot.right - plot.left),
      y: (value, axis = 'left') => plot.bottom - (value / scales[axis].max) * (plot.bottom - plot.top),
    };
  }

  text(x, y, content, anchor, cls = 'axis-label') {
    const node = svgEl('text', { x, y, 'text-anchor': anchor, class: cls });
    node.textContent = content;
    return node;
  }

  drawGrid() {
    const { plot, scales, intervals, y, right, width } = this.geometry;
    const formatOf = (axis) => this.data.series.find((s) => (s.axis ?? 'left') === axis)?.axisFormat ?? formatShort;
    for (let i = 0; i <= intervals; i += 1) {
      const lineY = y(scales.left.step * i);
      this.svg.append(
        svgEl('line', { x1: plot.left, x2: plot.right, y1: lineY, y2: lineY, class: i === 0 ? 'grid baseline' : 'grid' }),
        this.text(plot.left - 8, lineY + 4, formatOf('left')(scales.left.step * i), 'end'),
      );
      if (right) this.svg.append(this.text(width - 8, lineY + 4, formatOf('right')(scales.right.step * i), 'end'));
    }
  }

  // Labels back from the newest sample ("now", "−1m", …), at most about 7.
  drawTimeAxis() {
    const { plot, start, end, x } = this.geometry;
    const step = [15000, 30000, 60000, 120000, 300000].find((s) => (end - start) / s <= 7) ?? 600000;
    for (let ago = 0; ago <= end - start; ago += step) {
      this.svg.append(this.text(x(end - ago) + (ago ? 0 : 4), plot.bottom + 19, formatAgo(ago), ago ? 'middle' : 'end'));
    }
  }

  // A soft gradient-filled area under a smooth line.
  drawSeries(series, index) {
    const { x, y, plot } = this.geometry;
    const color = `color-${series.color}`;
    const gradientId = `${this.svg.id}-fill-${index}`;
    const gradient = svgEl('linearGradient', { id: gradientId, x1: 0, y1: 0, x2: 0, y2: 1 });
    gradient.append(svgEl('stop', { offset: '0%', class: `stop-top ${color}` }),
      svgEl('stop', { offset: '100%', class: `stop-bottom ${color}` }));
    this.svg.appendChild(svgEl('defs')).append(gradient);
    const toPoint = (time, value) => ({ x: x(time), y: y(value, series.axis) });
    for (const run of runsOfPoints(this.data.times, series.values, toPoint)) {
      if (run.length === 1) {
        this.svg.append(svgEl('circle', { cx: run[0].x, cy: run[0].y, r: 2.5, class: `dot ${color}` }));
        continue;
      }
      const line = smoothPath(run);
      const area = `${line}L${run[run.length - 1].x},${plot.bottom}L${run[0].x},${plot.bottom}Z`;
      this.svg.append(svgEl('path', { d: area, fill: `url(#${gradientId})` }),
        svgEl('path', { d: line, class: `line ${color}` }));
    }
  }

  // A vertical guide and the values at the sample nearest the pointer.
  hover(clientX) {
    this.hoverClientX = clientX;
    if (!this.geometry || clientX === null) {
      this.hoverLayer?.replaceChildren();
      this.tooltip.hidden = true;
      return;
    }
    const { x, y, plot, width } = this.geometry;
    const { times, series } = this.data;
    const rect = this.svg.getBoundingClientRect();
    const pointerX = ((clientX - rect.left) * width) / rect.width;
    const distance = (i) => Math.abs(x(times[i]) - pointerX);
    const nearest = times.reduce((best, _, i) => (distance(i) < distance(best) ? i : best), 0);
    const guideX = x(times[nearest]);
    this.hoverLayer.replaceChildren(svgEl('line', { x1: guideX, x2: guideX, y1: plot.top, y2: plot.bottom, class: 'guide' }));
    for (const s of series) {
      const value = s.values[nearest];
      if (isNumber(value)) {
        this.hoverLayer.append(svgEl('circle', { cx: guideX, cy: y(value, s.axis), r: 4, class: `hover-dot color-${s.color}` }));
      }
    }
    this.showTooltip(nearest, (guideX * rect.width) / width, rect);
  }

  showTooltip(index, pixelX, svgRect) {
    const { times, series } = this.data;
    const ago = times[times.length - 1] - times[index];
    this.tooltip.replaceChildren(
      el('div', { class: 'tooltip-time' }, `${formatClock(times[index])}${ago > 0 ? ` · ${formatAgo(ago)}` : ''}`),
      ...series.map((s) => el('div', { class: 'tooltip-row' },
        el('span', { class: `swatch color-${s.color}` }),
        el('span', { class: 'tooltip-label' }, s.label),
        el('span', { class: 'tooltip-value' }, isNumber(s.values[index]) ? s.format(s.values[index]) : '—'))),
    );
    this.tooltip.hidden = false;
    // Beside the guide, on whichever side has room. CSSOM, which the CSP allows.
    this.tooltip.classList.toggle('flip', pixelX > svgRect.width * 0.6);
    this.tooltip.style.left = `${svgRect.left - this.wrap.getBoundingClientRect().left + pixelX}px`;
  }
}

// --------------------------------------------------------- message decoding

const utf8 = new TextDecoder('utf-8', { fatal: false });

// Standard or URL-safe base64 to bytes; null when it is neither.
function base64ToBytes(encoded) {
  try {
    const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

// The classic dump: offset, 16 bytes in two groups of 8, printable ASCII.
function hexDump(bytes) {
  const lines = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const chunk = [...bytes.subarray(offset, offset + 16)];
    const hex = chunk.map((b) => b.toString(16).padStart(2, '0'));
    const ascii = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    const columns = `${hex.slice(0, 8).join(' ').padEnd(23)}  ${hex.slice(8).join(' ').padEnd(23)}`;
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${columns}  |${ascii}|`);
  }
  return lines.join('\n') || '(empty)';
}

// A base64 field as text, or null when there is none.
function decodeText(encoded) {
  const bytes = typeof encoded === 'string' ? base64ToBytes(encoded) : null;
  return bytes === null ? null : utf8.decode(bytes);
}

function renderValue(record, format) {
  const parts = [];
  const bytes = typeof record.value === 'string' ? base64ToBytes(record.value) : null;
  if (record.value === null || record.value === undefined) parts.push(mutedNull());
  else if (bytes === null) parts.push(el('span', { class: 'note' }, 'not valid base64'));
  else if (format === 'hex') parts.push(el('pre', { class: 'value-hex' }, hexDump(bytes)));
  else if (format === 'json') parts.push(...renderJson(utf8.decode(bytes)));
  else parts.push(el('pre', { class: 'value-text' }, utf8.decode(bytes)));
  if (record.value_truncated) {
    parts.push(el('div', { class: 'note' }, `(truncated, ${formatNumber(record.value_size)} bytes)`));
  }
  return parts;
}

function renderJson(text) {
  try {
    return [el('pre', { class: 'value-json' }, JSON.stringify(JSON.parse(text), null, 2))];
  } catch {
    return [el('span', { class: 'note' }, 'not JSON'), el('pre', { class: 'value-text' }, text)];
  }
}

function renderKey(encoded) {
  const text = decodeText(encoded);
  return text === null ? mutedNull() : text;
}

function renderHeaders(headers) {
  if (!Array.isArray(headers) || headers.length === 0) return el('span', { class: 'muted' }, '—');
  return el('ul', { class: 'header-list' }, ...headers.map((header) => el('li', {},
    el('span', { class: 'header-key' }, String(header.key ?? '')), ': ', renderKey(header.value))));
}

// ------------------------------------------------------------------ dialogs

function setDialogError(dialog, message) {
  const box = dialog.querySelector('.dialog-error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

// Wires a dialog's form: Cancel closes it; submitting (the button or
// Enter) runs `submit`, and an error it throws is shown in the dialog.
function setupDialog(dialog, { submit, canSubmit = () => true }) {
  const form = dialog.querySelector('form');
  const submitButton = form.querySelector('button[type=submit]');
  let busy = false;
  const updateButton = () => {
    submitButton.disabled = busy || !canSubmit();
  };
  for (const button of dialog.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => dialog.close());
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || !canSubmit()) return;
    setDialogError(dialog, null);
    busy = true;
    updateButton();
    try {
      await submit();
    } catch (error) {
      setDialogError(dialog, error instanceof ApiError ? error.message : describeError(error));
    } finally {
      busy = false;
      updateButton();
    }
  });
  const open = () => {
    setDialogError(dialog, null);
    updateButton();
    dialog.showModal();
  };
  return { open, updateButton };
}

// "retention.ms=1000" per line; blank lines and # comments are skipped.
function parseConfigLines(text) {
  const configs = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const equals = line.indexOf('=');
    if (equals <= 0) throw new Error(`Config line ${index + 1} is not key=value: ${line}`);
    configs[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  });
  return configs;
}

function positiveInteger(input, what) {
  const text = input.value.trim();
  if (text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${what} must be a whole number of at least 1`);
  return value;
}

// -------------------------------------------------------------------- pages

// Runs a refresh now and then every POLL_MS until stopped. A refresh asked
// for while one runs starts right after it: never two at once.
class Poller {
  constructor(refresh) {
    this.refresh = refresh;
    this.timer = null;
    this.current = null;
    this.again = false;
    this.stopped = false;
  }

  runNow() {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.current = this.refresh()
      .catch((error) => showError(`Unexpected error: ${describeError(error)}`))
      .finally(() => {
        this.current = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.runNow();
        } else {
          this.timer = setTimeout(() => this.runNow(), POLL_MS);
        }
      });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  // Stops, and waits for a refresh in flight to finish.
  async pause() {
    this.stop();
    await this.current;
  }

  resume() {
    this.stopped = false;
    this.runNow();
  }
}

// What pages share: a skeleton cloned from a template, a poller that loads
// the cluster and then the page's own data, and cleanup on leaving.
class Page {
  constructor(templateId) {
    this.root = cloneTemplate(templateId);
    this.disposed = false;
    this.charts = [];
    this.poller = new Poller(() => this.poll());
  }

  find(selector) {
    return this.root.querySelector(selector);
  }

  addChart(svgSelector) {
    const chart = new LineChart(this.find(svgSelector));
    this.charts.push(chart);
    return chart;
  }

  mount(container) {
    container.replaceChildren(this.root);
    this.poller.runNow();
  }

  dispose() {
    this.disposed = true;
    this.poller.stop();
    this.charts.forEach((chart) => chart.dispose());
  }

  async poll() {
    const round = new PollRound();
    const cluster = await loadCluster(round);
    await this.refresh(round, cluster);
    if (!this.disposed) round.report();
  }

  // Loads the topic or group the page is about. On the first visit the
  // list is asked first: a name missing from it is "not found" without a
  // 404, which the browser would log as a console error.
  async loadSubject(round, { listed, load, notFound }) {
    if (!this.seen && !(await listed())) {
      this.showNotFound(...notFound);
      return null;
    }
    try {
      const subject = await load();
      this.seen = true;
      return subject;
    } catch (error) {
      if (isNotFound(error)) this.showNotFound(...notFound);
      else round.errors.push(error);
      return null;
    }
  }

  // A friendly note with a way back, instead of the page; polling stops.
  showNotFound(title, detail) {
    if (this.disposed) return;
    const note = cloneTemplate('tpl-not-found');
    note.querySelector('.not-found-title').textContent = title;
    note.querySelector('.not-found-detail').textContent = detail;
    this.root.replaceWith(note);
    this.root = note;
    hideError();
    this.dispose();
  }
}

function recordCount(topic) {
  const counted = (topic.partitions ?? []).filter((p) => isNumber(p.high_watermark) && isNumber(p.log_start_offset));
  return counted.length ? counted.reduce((sum, p) => sum + Math.max(0, p.high_watermark - p.log_start_offset), 0) : null;
}

function topicSize(topic) {
  const sizes = (topic.partitions ?? []).map((p) => p.size_bytes).filter(isNumber);
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) : null;
}

const omittedNote = (omitted, what) => (omitted > 0 ? `${formatNumber(omitted)} more ${what} not listed` : '');
const recordsPerSecond = (value) => `${formatDecimal(value)} rec/s`;

// ----------------------------------------------------------------- overview

class OverviewPage extends Page {
  constructor() {
    super('tpl-overview');
    this.chart = this.addChart('#overview-chart');
    this.setupCreateDialog();
  }

  async refresh(round, cluster) {
    const [topics, groups, history] = await Promise.all([
      round.get(api.topics), round.get(api.groups), round.get(() => api.history()),
    ]);
    if (this.disposed) return;
    showAction(this.find('#create-topic'));
    if (cluster) this.renderCluster(cluster);
    if (topics) this.renderTopics(topics);
    if (groups) this.renderGroups(groups);
    if (history) this.renderHistory(history);
  }

  setStat(id, value, sub = '') {
    setText(this.find(`#${id} .stat-value`), value);
    setText(this.find(`#${id} .stat-sub`), sub);
  }

  renderCluster(cluster) {
    const brokers = Array.isArray(cluster.brokers) ? cluster.brokers : [];
    this.setStat('stat-brokers', formatNumber(brokers.length), `${formatNumber(brokers.filter((b) => b.live).length)} live`);
    this.setStat('stat-topics', formatNumber(cluster.topic_count));
    const controller = isNumber(cluster.controller_id) ? `controller: node ${cluster.controller_id}` : 'single node';
    setText(this.find('#overview-subtitle'), `Cluster ${cluster.cluster_id ?? '—'} · ${controller}`);
    const models = brokers.map((b) => ({
      id: b.id, address: `${b.host ?? '?'}:${b.port ?? '?'}`, live: b.live === true,
      roles: [b.id === cluster.controller_id && 'controller', b.id === cluster.node_id && 'this node'].filter(Boolean),
    }));
    renderRows(this.find('#brokers tbody'), models, {
      key: (b) => b.id,
      columns: 4,
      empty: 'No brokers known',
      build: (b) => el('tr', { dataset: { broker: String(b.id) } },
        numberCell(b.id),
        cell(b.address, 'mono'),
        cell(el('span', { class: b.live ? 'status live' : 'status down' }, b.live ? 'live' : 'fenced')),
        cell(b.roles.length ? b.roles.join(', ') : '—', 'muted role')),
    });
  }

  renderTopics(body) {
    const topics = Array.isArray(body.topics) ? body.topics : [];
    const partitions = topics.reduce((sum, t) => sum + (t.partitions?.length ?? 0), 0);
    this.setStat('stat-partitions', formatNumber(partitions), `in ${plural(topics.length, 'topic')}`);
    setText(this.find('#topics-note'), omittedNote(body.omitted, 'topics'));
    const models = topics.map((t) => ({
      name: String(t.name), internal: t.internal === true, partitions: t.partitions?.length ?? 0,
      replicas: t.partitions?.[0]?.replicas?.length ?? null, records: recordCount(t), size: topicSize(t),
      produced: t.records_in_total ?? null,
    }));
    renderRows(this.find('#topics tbody'), models, {
      key: (t) => t.name,
      columns: 6,
      empty: 'No topics yet',
      build: (t) => el('tr', { class: t.internal ? 'internal' : null, dataset: { topic: t.name } },
        el('td', {}, topicLink(t.name), t.internal ? el('span', { class: 'badge' }, 'internal') : null),
        numberCell(t.partitions),
        numberCell(t.replicas),
        numberCell(t.records),
        cell(formatBytes(t.size), 'num'),
        numberCell(t.produced, 'muted')),
    });
  }

  renderGroups(body) {
    const groups = Array.isArray(body.groups) ? body.groups : [];
    setText(this.find('#groups-note'), omittedNote(body.omitted, 'groups'));
    const models = groups.map((g) => ({
      id: String(g.group), state: g.state, protocol: g.protocol_type || '—',
      members: g.members?.length ?? 0, lag: g.total_lag ?? null,
    }));
    renderRows(this.find('#groups tbody'), models, {
      key: (g) => g.id,
      columns: 5,
      empty: 'No consumer groups',
      build: (g) => el('tr', { dataset: { group: g.id } },
        cell(groupLink(g.id)),
        cell(statePill(g.state)),
        cell(g.protocol, 'muted'),
        numberCell(g.members),
        numberCell(g.lag, 'lag')),
    });
  }

  renderHistory(history) {
    const samples = samplesOf(history);
    const records = ratesFromHistory(samples, 'records_in');
    const megabytes = (rate) => (rate === null ? '—' : (rate / 1e6).toFixed(2));
    const perSecond = (rate) => (rate === null ? '' : `${formatBytes(rate)}/s`);
    const bytesIn = lastValue(ratesFromHistory(samples, 'bytes_in').values);
    const bytesOut = lastValue(ratesFromHistory(samples, 'bytes_out').values);
    this.setStat('stat-records-in', formatDecimal(lastValue(records.values)), records.times.length ? 'last sample' : '');
    this.setStat('stat-bytes-in', megabytes(bytesIn), perSecond(bytesIn));
    this.setStat('stat-bytes-out', megabytes(bytesOut), perSecond(bytesOut));
    this.chart.update({
      times: records.times,
      emptyText: collectingText(history),
      series: [{ label: 'Records/s in', values: records.values, color: 0, format: recordsPerSecond }],
    });
  }

  setupCreateDialog() {
    const dialog = this.find('#create-topic-dialog');
    const controls = setupDialog(dialog, { submit: () => this.createTopic(dialog) });
    this.find('#create-topic').addEventListener('click', () => {
      dialog.querySelector('form').reset();
      controls.open();
      this.find('#new-topic-name').focus();
    });
  }

  async createTopic(dialog) {
    const name = this.find('#new-topic-name').value.trim();
    if (!name) throw new Error('Give the topic a name');
    const body = {
      name,
      partitions: positiveInteger(this.find('#new-topic-partitions'), 'Partitions'),
      replication_factor: positiveInteger(this.find('#new-topic-replication'), 'Replication factor'),
    };
    const configs = parseConfigLines(this.find('#new-topic-configs').value);
    if (Object.keys(configs).length) body.configs = configs;
    const created = await api.createTopic(body); // undefined fields are left out by JSON
    dialog.close();
    showToast(`Topic “${created?.name ?? name}” created`);
    this.poller.runNow();
  }
}

// -------------------------------------------------------------------- topic

class TopicPage extends Page {
  constructor(name) {
    super('tpl-topic');
    this.name = name;
    this.topic = null;
    this.records = null;
    this.messagesRequest = 0;
    this.chart = this.addChart('#throughput-chart');
    setText(this.find('#topic-title'), name);
    document.title = `${name} · Strom`;
    this.setupBrowser();
    this.setupDeleteDialog();
  }

  async refresh(round) {
    const topic = await this.loadSubject(round, {
      listed: async () => {
        const list = await round.get(api.topics);
        return !list || list.omitted > 0 || (list.topics ?? []).some((t) => t.name === this.name);
      },
      load: () => api.topic(this.name),
      notFound: ['No such topic', `There is no topic named “${this.name}” in this cluster.`],
    });
    if (this.disposed) return;
    const history = await round.get(() => api.history({ topic: this.name }));
    if (this.disposed) return;
    if (topic) this.renderTopic(topic);
    if (history) this.renderHistory(history);
  }

  renderTopic(topic) {
    const firstLoad = this.topic === null;
    this.topic = topic;
    const internal = topic.internal === true;
    const partitions = Array.isArray(topic.partitions) ? topic.partitions : [];
    const replication = partitions[0]?.replicas?.length;
    this.find('#topic-internal').hidden = !internal;
    showAction(this.find('#delete-topic'), !internal);
    setText(this.find('#topic-subtitle'), [plural(partitions.length, 'partition'),
      isNumber(replication) && `replication factor ${replication}`, topic.id && `id ${topic.id}`].filter(Boolean).join(' · '));
    setText(this.find('#stat-topic-partitions .stat-value'), formatNumber(partitions.length));
    setText(this.find('#stat-topic-records .stat-value'), formatNumber(recordCount(topic)));
    setText(this.find('#stat-topic-size .stat-value'), formatBytes(topicSize(topic)));
    setText(this.find('#stat-topic-in .stat-value'), formatNumber(topic.records_in_total));
    setText(this.find('#stat-topic-in .stat-sub'), isNumber(topic.bytes_in_total) ? formatBytes(topic.bytes_in_total) : '');
    setText(this.find('#stat-topic-out .stat-value'), formatBytes(topic.bytes_out_total));
    this.renderPartitions(partitions);
    this.renderConfigs(Array.isArray(topic.configs) ? topic.configs : []);
    syncSelectOptions(this.find('#browse-partition'),
      [['', 'All'], ...partitions.map((p) => [String(p.partition), String(p.partition)])]);
    if (firstLoad) this.loadMessages();
  }

  renderPartitions(partitions) {
    const list = (values) => (Array.isArray(values) ? values.join(', ') : '—');
    const models = partitions.map((p) => ({
      partition: p.partition, leader: p.leader ?? null, replicas: list(p.replicas), isr: list(p.isr),
      underReplicated: p.isr?.length < p.replicas?.length,
      start: p.log_start_offset ?? null, hw: p.high_watermark ?? null, end: p.log_end_offset ?? null, size: p.size_bytes ?? null,
    }));
    renderRows(this.find('#partitions tbody'), models, {
      key: (p) => p.partition,
      columns: 8,
      empty: 'No partitions',
      build: (p) => el('tr', { dataset: { partition: String(p.partition) } },
        numberCell(p.partition),
        numberCell(p.leader),
        cell(p.replicas),
        cell(p.isr, p.underReplicated ? 'warn' : null),
        numberCell(p.start),
        numberCell(p.hw),
        numberCell(p.end),
        cell(formatBytes(p.size), 'num')),
    });
  }

  renderConfigs(configs) {
    const models = configs.map((c) => ({
      name: String(c.name), source: String(c.source ?? ''), sensitive: c.sensitive === true,
      value: c.value === null || c.value === undefined ? null : String(c.value),
    }));
    renderRows(this.find('#configs tbody'), models, {
      key: (c) => c.name,
      columns: 3,
      empty: 'No configs',
      build: (c) => {
        const hidden = c.sensitive ? el('span', { class: 'muted' }, '(sensitive)') : mutedNull();
        return el('tr', { class: c.source === 'DEFAULT_CONFIG' ? null : 'non-default', dataset: { config: c.name } },
          cell(c.name, 'mono'),
          cell(c.value ?? hidden, 'mono'),
          cell(el('span', { class: 'source' }, c.source)));
      },
    });
  }

  renderHistory(history) {
    const samples = samplesOf(history);
    const recordsIn = ratesFromHistory(samples, 'records_in');
    this.chart.update({
      times: recordsIn.times,
      emptyText: collectingText(history),
      series: [
        { label: 'Records/s in', values: recordsIn.values, color: 0, format: recordsPerSecond },
        {
          label: 'Bytes/s out', values: ratesFromHistory(samples, 'bytes_out').values, color: 1, axis: 'right',
          format: (value) => `${formatBytes(value)}/s`, axisFormat: formatBytesShort,
        },
      ],
    });
  }

  // The message browser loads only when asked (the refresh button or a
  // select), never by the poll: rows would shift under the reader's eyes.
  setupBrowser() {
    this.find('#browse-partition').addEventListener('change', () => this.loadMessages());
    this.find('#browse-limit').addEventListener('change', () => this.loadMessages());
    this.find('#browse-refresh').addEventListener('click', () => this.loadMessages());
    // The format only changes how the records already loaded are shown.
    this.find('#value-format').addEventListener('change', () => this.renderMessages());
  }

  showBrowseDisabled(reason) {
    this.find('#browse-disabled').textContent = `Browsing messages is off: ${reason}`;
    this.find('#browse-disabled').hidden = false;
    this.find('#browse-body').hidden = true;
    setText(this.find('#browse-status'), '');
  }

  async loadMessages() {
    // Known to be off: say why instead of asking (and getting a 403).
    if (!clusterState.browseRecords) {
      this.showBrowseDisabled(clusterState.reason ?? 'the broker does not allow it');
      return;
    }
    const requestNumber = ++this.messagesRequest; // only the latest answer is shown
    const query = { limit: this.find('#browse-limit').value };
    const partition = this.find('#browse-partition').value;
    if (partition !== '') query.partition = partition;
    setText(this.find('#browse-status'), 'Loading…');
    this.find('#messages').classList.add('loading');
    try {
      const body = await api.records(this.name, query);
      if (this.disposed || requestNumber !== this.messagesRequest) return;
      this.records = Array.isArray(body.records) ? body.records : [];
      this.loadedAt = Date.now();
      this.renderMessages();
    } catch (error) {
      if (this.disposed || requestNumber !== this.messagesRequest) return;
      if (error instanceof ApiError && error.status === 403) this.showBrowseDisabled(error.message);
      else setText(this.find('#browse-status'), `Could not load messages: ${describeError(error)}`);
    } finally {
      if (requestNumber === this.messagesRequest) this.find('#messages').classList.remove('loading');
    }
  }

  renderMessages() {
    if (this.records === null) return;
    const format = this.find('#value-format').value;
    const rows = this.records.map((r) => el('tr', { dataset: { offset: String(r.offset), partition: String(r.partition) } },
      el('td', { class: 'partition num' }, formatNumber(r.partition)),
      el('td', { class: 'offset num' }, formatNumber(r.offset)),
      el('td', { class: 'timestamp mono' }, formatTimestamp(r.timestamp)),
      el('td', { class: 'key mono' }, renderKey(r.key)),
      el('td', { class: 'headers mono' }, renderHeaders(r.headers)),
      el('td', { class: 'value' }, ...renderValue(r, format))));
    if (rows.length === 0) rows.push(el('tr', { class: 'empty-row' }, el('td', { colspan: 6 }, 'No messages')));
    this.find('#messages tbody').replaceChildren(...rows);
    setText(this.find('#browse-status'),
      `${plural(this.records.length, 'message')}, newest first · loaded at ${formatClock(this.loadedAt)}`);
  }

  setupDeleteDialog() {
    const dialog = this.find('#delete-topic-dialog');
    const confirmName = this.find('#confirm-name');
    dialog.querySelector('.dialog-topic-name').textContent = this.name;
    const controls = setupDialog(dialog, {
      canSubmit: () => confirmName.value === this.name,
      submit: async () => {
        // No poll may ask for the topic once it is gone (a 404 is a console error).
        await this.poller.pause();
        try {
          await api.deleteTopic(this.name);
        } catch (error) {
          this.poller.resume();
          throw error;
        }
        dialog.close();
        showToast(`Topic “${this.name}” deleted`);
        window.location.hash = '#/';
      },
    });
    confirmName.addEventListener('input', controls.updateButton);
    this.find('#delete-topic').addEventListener('click', () => {
      confirmName.value = '';
      controls.open();
      confirmName.focus();
    });
  }
}

// -------------------------------------------------------------------- group

function formatAssignment(assignment) {
  if (!Array.isArray(assignment) || assignment.length === 0) return '—';
  return assignment.map((a) => `${a.topic}: ${(a.partitions ?? []).join(', ')}`).join('; ');
}

class GroupPage extends Page {
  constructor(id) {
    super('tpl-group');
    this.id = id;
    this.chart = this.addChart('#lag-chart');
    setText(this.find('#group-title'), id);
    document.title = `${id} · Strom`;
    this.setupResetDialog();
  }

  async refresh(round) {
    const group = await this.loadSubject(round, {
      listed: async () => {
        const list = await round.get(api.groups);
        return !list || list.omitted > 0 || (list.groups ?? []).some((g) => g.group === this.id);
      },
      load: () => api.group(this.id),
      notFound: ['No such group', `This broker knows no consumer group named “${this.id}”.`],
    });
    if (this.disposed) return;
    const history = await round.get(() => api.history({ group: this.id }));
    if (this.disposed) return;
    if (group) this.renderGroup(group);
    if (history) this.renderHistory(history);
  }

  renderGroup(group) {
    const members = Array.isArray(group.members) ? group.members : [];
    const offsets = (Array.isArray(group.offsets) ? [...group.offsets] : [])
      .sort((a, b) => String(a.topic).localeCompare(String(b.topic)) || a.partition - b.partition);
    const pill = statePill(group.state);
    this.find('#group-state').className = pill.className;
    setText(this.find('#group-state'), pill.textContent);
    setText(this.find('#group-protocol'), group.protocol_type || '—');
    setText(this.find('#group-generation'), formatNumber(group.generation));
    setText(this.find('#group-members'), formatNumber(members.length));
    setText(this.find('#total-lag'), formatNumber(group.total_lag));
    showAction(this.find('#reset-offsets'));
    this.renderMembers(members);
    this.renderLag(offsets);
    // The dialog's choices follow the data, without closing it.
    syncSelectOptions(this.find('#reset-topic'), [...new Set(offsets.map((o) => String(o.topic)))].map((t) => [t, t]));
    const warning = this.find('#reset-offsets-dialog .dialog-warning');
    warning.hidden = members.length === 0;
    setText(warning, `The group has ${plural(members.length, 'active member')} now: the reset will be refused.`);
  }

  renderMembers(members) {
    const models = members.map((m) => ({
      id: String(m.member_id ?? ''), client: String(m.client_id ?? ''), host: String(m.client_host ?? ''),
      assignment: formatAssignment(m.assignment),
    }));
    renderRows(this.find('#members tbody'), models, {
      key: (m) => m.id,
      columns: 4,
      empty: 'No active members',
      build: (m) => el('tr', { dataset: { member: m.id } },
        cell(m.id, 'mono'), cell(m.client, 'mono'), cell(m.host, 'mono'), cell(m.assignment, 'mono')),
    });
  }

  renderLag(offsets) {
    const maxLag = Math.max(0, ...offsets.map((o) => o.lag).filter(isNumber));
    const models = offsets.map((o) => ({
      topic: String(o.topic), partition: o.partition, committed: o.committed ?? null, lag: o.lag ?? null,
      end: isNumber(o.committed) && isNumber(o.lag) ? o.committed + o.lag : null,
      share: isNumber(o.lag) && maxLag > 0 ? o.lag / maxLag : 0,
    }));
    renderRows(this.find('#lag tbody'), models, {
      key: (o) => `${o.topic}:${o.partition}`,
      columns: 6,
      empty: 'No committed offsets',
      build: (o) => {
        const fill = el('div', { class: 'bar-fill' });
        fill.style.width = `${(o.share * 100).toFixed(1)}%`; // CSSOM, which the CSP allows
        return el('tr', { dataset: { partition: `${o.topic}:${o.partition}` } },
          cell(topicLink(o.topic), 'topic'),
          numberCell(o.partition, 'partition'),
          numberCell(o.committed, 'committed'),
          numberCell(o.end, 'log-end'),
          numberCell(o.lag, 'lag'),
          cell(el('div', { class: 'bar', title: `${formatNumber(o.lag)} of the largest lag ${formatNumber(maxLag)}` }, fill),
            'lag-bar'));
      },
    });
  }

  renderHistory(history) {
    const samples = samplesOf(history);
    this.chart.update({
      times: samples.map((s) => s.time_ms),
      emptyText: collectingText(history),
      series: [{ label: 'Total lag', values: samples.map((s) => s.lag ?? null), color: 2, format: formatNumber }],
    });
  }

  setupResetDialog() {
    const dialog = this.find('#reset-offsets-dialog');
    const topicSelect = this.find('#reset-topic');
    dialog.querySelector('.dialog-group-name').textContent = this.id;
    const controls = setupDialog(dialog, {
      canSubmit: () => topicSelect.value !== '',
      submit: async () => {
        const [topic, to] = [topicSelect.value, this.find('#reset-to').value];
        const result = await api.resetOffsets(this.id, { topic, to });
        dialog.close();
        const count = Array.isArray(result?.offsets) ? result.offsets.length : 0;
        showToast(`Offsets of “${topic}” reset to ${to} (${plural(count, 'partition')})`);
        this.poller.runNow();
      },
    });
    topicSelect.addEventListener('change', controls.updateButton);
    this.find('#reset-offsets').addEventListener('click', () => controls.open());
  }
}

// ------------------------------------------------------------------ routing

class UnknownPage extends Page {
  constructor() {
    super('tpl-not-found');
    this.find('.not-found-title').textContent = 'No such page';
    this.find('.not-found-detail').textContent = 'This address leads nowhere in the console.';
  }

  async refresh() {}
}

// "#/topics/a%20b" → { kind: 'topic', name: 'a b' }.
function parseRoute(hash) {
  const path = hash.replace(/^#\/?/, '');
  if (path === '') return { kind: 'overview' };
  const [section, ...rest] = path.split('/');
  let name;
  try {
    name = decodeURIComponent(rest.join('/'));
  } catch {
    return { kind: 'unknown' };
  }
  if (section === 'topics' && name) return { kind: 'topic', name };
  if (section === 'groups' && name) return { kind: 'group', name };
  return { kind: 'unknown' };
}

let currentPage = null;

function showRoute() {
  currentPage?.dispose();
  hideError();
  document.title = 'Strom console';
  const route = parseRoute(window.location.hash);
  document.getElementById('nav-overview').classList.toggle('active', route.kind === 'overview');
  if (route.kind === 'overview') currentPage = new OverviewPage();
  else if (route.kind === 'topic') currentPage = new TopicPage(route.name);
  else if (route.kind === 'group') currentPage = new GroupPage(route.name);
  else currentPage = new UnknownPage();
  currentPage.mount(document.getElementById('app'));
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', showRoute);
showRoute();
