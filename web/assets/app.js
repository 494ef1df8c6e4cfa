/* apex-host dashboard: one page over the host's JSON API and push stream (docs/api.md,
 * docs/dashboard.md). No framework and no build step: a handful of tables and Chart.js
 * canvases (Debian's libjs-chart.js, served by the host), and the host serves every byte.
 *
 * The page reads each list once, then keeps itself current from the stream: executions
 * and positions are applied as they are pushed, events go straight into the feed, and
 * what the stream does not carry is re-read at most once every REFRESH_MIN_MS, however
 * fast the host trades, so the page's cost to the host stays flat (docs/performance.md,
 * "The dashboard's cost"). Text from the store only ever goes through textContent. */
'use strict';

(function () {
  const API = '/api/v1';
  const REFRESH_MIN_MS = 2000; /* at most one re-read every two seconds, whatever the push rate */
  const EVENTS_KEPT = 200;
  const TOKEN_KEY = 'apex.token'; /* sessionStorage only: gone when the tab closes */

  const state = {
    summary: null,
    pipelines: [],
    executions: [],
    positions: [],
    orders: [],
    exits: [],
    events: [],
    equity: [],
    approvals: [],
    attempts: [],
    fills: [],
    reloads: [],
    marks: {}, /* symbol -> [{x: ms, y: price}], oldest first */
    bars: {},  /* symbol -> [{x: ms, y: close}] from GET /bars, oldest first */
  };
  const charts = {}; /* canvas id -> Chart */

  /* ---- values from the API: money arrives as decimal strings (exact) or numbers,
   * times as ISO 8601 text or numbers; the page only formats them. */
  function num(v) {
    if (v === null || v === undefined || v === '') return null;
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : null;
  }
  function timeMs(v) {
    if (v === null || v === undefined || v === '' || v === 0) return null;
    if (typeof v === 'number') {
      if (v > 1e14) return v / 1000; /* microseconds (the store's apex_time) */
      if (v > 1e11) return v;        /* milliseconds */
      return v * 1000;               /* seconds */
    }
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  function pick(o, ...names) {
    for (const n of names) if (o && o[n] !== undefined && o[n] !== null) return o[n];
    return undefined;
  }
  function fmtMoney(v) {
    const n = num(v);
    if (n === null) return '';
    return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function fmtQty(v) {
    const n = num(v);
    if (n === null) return '';
    return n.toLocaleString('en-US', { maximumFractionDigits: 8 });
  }
  function fmtSigned(v) {
    const n = num(v);
    if (n === null) return '';
    return (n > 0 ? '+' : '') + fmtMoney(n);
  }
  /* A fraction (0.023) as a percentage with its sign: "+2.3%". */
  function fmtPct(frac) {
    const n = num(frac);
    if (n === null) return '';
    const p = n * 100;
    return (p > 0 ? '+' : '') + p.toFixed(Math.abs(p) < 10 ? 1 : 0) + '%';
  }
  function fmtTime(v) {
    const t = timeMs(v);
    if (t === null) return '';
    return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
  }
  function sideName(v) {
    if (v === 0 || v === 'buy' || v === 'long') return 'buy';
    if (v === 1 || v === 'sell' || v === 'short') return 'sell';
    return v === undefined || v === null || v === -1 ? '' : String(v);
  }
  function signClass(v) {
    const n = num(v);
    return n === null || n === 0 ? '' : n > 0 ? 'up' : 'down';
  }

  /* ---- DOM helpers: text only through textContent, so nothing from the store is ever
   * parsed as HTML (a reason or an event message is text a script wrote). */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === 'class') e.className = attrs[k];
      else if (k === 'text') e.textContent = attrs[k];
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of kids) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function td(text, cls) {
    return el('td', { class: cls || '', text: text === undefined || text === null ? '' : String(text) });
  }
  function fillBody(tableId, rows, emptyText) {
    const body = document.querySelector('#' + tableId + ' tbody');
    const cols = document.querySelectorAll('#' + tableId + ' thead th').length;
    body.replaceChildren(...rows);
    if (rows.length === 0) body.append(el('tr', { class: 'empty' }, el('td', { colspan: cols, text: emptyText })));
  }

  /* ---- the API */
  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }
  function headers() {
    const h = { Accept: 'application/json' };
    if (token()) h.Authorization = 'Bearer ' + token();
    return h;
  }
  async function getJSON(path) {
    const r = await fetch(API + path, { headers: headers(), cache: 'no-store' });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }
  /* The list inside a response: the API wraps lists in an object ({"executions": [...]}). */
  function listOf(body, key) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body[key])) return body[key];
    if (body && Array.isArray(body.items)) return body.items;
    if (body && Array.isArray(body.data)) return body.data;
    return [];
  }

  /* What the page reads, each a page of the API's rows (newest first). Executions are read
   * twice: every active one, however old, and the latest of any status. Equity and fills
   * are read whole once and then only what is new (`after`), so a long history is not
   * re-sent. */
  const RESOURCES = {
    summary: ['/metrics', (b) => (b && b.store) || b],
    pipelines: ['/pipelines', (b) => listOf(b, 'data')],
    active: ['/executions?status=active&limit=1000', (b) => listOf(b, 'data')],
    recent: ['/executions?limit=100', (b) => listOf(b, 'data')],
    positions: ['/positions?status=open&limit=1000', (b) => listOf(b, 'data')],
    orders: ['/orders?status=open&limit=200', (b) => listOf(b, 'data')],
    exits: ['/exits?limit=50', (b) => listOf(b, 'data')],
    attempts: ['/exit_attempts?limit=300', (b) => listOf(b, 'data')],
    events: ['/events?limit=' + EVENTS_KEPT, (b) => listOf(b, 'data')],
    reloads: ['/events?kind=reload&limit=50', (b) => listOf(b, 'data')],
    reload_errors: ['/events?kind=reload_error&limit=50', (b) => listOf(b, 'data')],
    approvals: ['/approvals?status=pending&limit=100', (b) => listOf(b, 'data')],
    equity: null, /* loadEquity */
    fills: null,  /* loadFills */
    bars: null,   /* loadBars */
  };
  const ALL = Object.keys(RESOURCES);
  /* What an event says may have changed, by its kind; the event itself is in the feed, and
   * executions and positions come on the stream. A kind not listed re-reads everything. */
  const MONEY_MOVED = ['summary', 'pipelines', 'active', 'recent', 'positions', 'orders', 'fills',
    'exits', 'attempts', 'equity', 'bars'];
  const CHANGES = {
    fill: MONEY_MOVED,
    order: ['orders', 'exits', 'attempts'],
    exit: ['exits', 'attempts', 'orders'],
    exit_failed: ['exits', 'attempts', 'orders'],
    exit_timeout: ['exits', 'attempts', 'orders'],
    status: ['summary', 'pipelines', 'active', 'recent', 'orders'],
    skip: ['summary', 'recent'],
    approval: ['approvals', 'active', 'recent'],
    approval_denied: ['approvals'],
    reload: ['reloads', 'pipelines'],
    reload_error: ['reload_errors', 'pipelines'],
    risk_mode: ['pipelines'],
    circuit_breaker: ['pipelines'],
    signal: [],
    coordinator: [],
    risk: [],
    risk_limit: [],
    market_data: [],
    data_source: [],
    rate_limit: [],
  };

  const dirty = new Set(ALL);
  let refreshing = false;
  let lastRefresh = 0;
  let refreshTimer = null;
  async function refresh() {
    if (refreshing) return; /* the end of this one schedules the next if anything is dirty */
    refreshing = true;
    lastRefresh = Date.now();
    const keys = [...dirty];
    dirty.clear();
    const errors = [];
    const got = {};
    await Promise.all(keys.map(async (key) => {
      try {
        if (key === 'equity') await loadEquity();
        else if (key === 'fills') await loadFills();
        else if (key === 'bars') await loadBars();
        else got[key] = RESOURCES[key][1](await getJSON(RESOURCES[key][0]));
      } catch (e) {
        errors.push(e.message);
        dirty.add(key); /* read it again next time */
      }
    }));
    for (const k of ['summary', 'pipelines', 'positions', 'orders', 'exits', 'attempts', 'approvals']) {
      if (got[k] !== undefined) state[k] = got[k];
    }
    if (got.events) mergeEvents(got.events);
    if (got.reloads) state.reloads = got.reloads.concat(state.reloads.filter((e) => e.kind !== 'reload'));
    if (got.reload_errors) state.reloads = got.reload_errors.concat(state.reloads.filter((e) => e.kind !== 'reload_error'));
    if (got.active || got.recent) {
      const byId = new Map();
      for (const e of state.executions) byId.set(String(e.id), e);
      for (const e of (got.recent || []).concat(got.active || [])) byId.set(String(e.id), e);
      /* Keep what the page shows bounded: the active ones and the latest 100. */
      const rows = [...byId.values()].sort((a, b) => num(b.id) - num(a.id));
      const active = new Set(['pending', 'running', 'monitoring', 'paused']);
      state.executions = rows.filter((e, i) => i < 100 || active.has(e.status));
    }
    for (const p of state.positions) addMark(p);
    render();
    document.getElementById('as-of').textContent = errors.length
      ? 'could not read ' + errors.join(', ')
      : 'as of ' + new Date().toISOString().slice(11, 19) + ' UTC';
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    refreshing = false;
    if (dirty.size) scheduleRefresh([]);
  }
  /* Marks what needs reading again and coalesces: one re-read at most every
   * REFRESH_MIN_MS, of everything marked meanwhile. */
  function scheduleRefresh(keys) {
    for (const k of keys) dirty.add(k);
    if (refreshTimer || dirty.size === 0) return;
    const wait = Math.max(0, REFRESH_MIN_MS - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, wait);
  }

  /* A list read whole once (newest first, paging back), then only the rows after the last
   * one seen (the API gives those oldest first). Returns the rows oldest first. */
  async function readGrowing(path, list, lastId) {
    if (lastId === 0) {
      let before = 0;
      const all = [];
      for (let pages = 0; pages < 20; pages++) {
        const b = await getJSON(path + '?limit=1000' + (before ? '&before=' + before : ''));
        all.push(...listOf(b, 'data'));
        if (!b.next_before) break;
        before = b.next_before;
      }
      return all.reverse();
    }
    const b = await getJSON(path + '?after=' + lastId + '&limit=1000');
    return list.concat(listOf(b, 'data'));
  }
  let equityAfter = 0;
  async function loadEquity() {
    state.equity = await readGrowing('/equity', state.equity, equityAfter);
    for (const p of state.equity) equityAfter = Math.max(equityAfter, num(p.id) || 0);
  }
  let fillsAfter = 0;
  async function loadFills() {
    state.fills = await readGrowing('/fills', state.fills, fillsAfter);
    for (const f of state.fills) fillsAfter = Math.max(fillsAfter, num(f.id) || 0);
  }

  /* Prices for the charts. A running host keeps each traded symbol's last bars
   * (GET /bars); a store does not (`apex-host serve` answers 404), and then the line is
   * what the host has marked and filled: the marks of open positions as the host pushes
   * them, and every fill (docs/dashboard.md). */
  let barsServed = true;
  async function loadBars() {
    if (!barsServed) return;
    for (const sym of tradedSymbols()) {
      const r = await fetch(API + '/bars?symbol=' + encodeURIComponent(sym), { headers: headers(), cache: 'no-store' });
      if (r.status === 404) {
        barsServed = false;
        return;
      }
      if (!r.ok) throw new Error('/bars: HTTP ' + r.status);
      state.bars[sym] = listOf(await r.json(), 'data')
        .map((b) => ({ x: timeMs(b.ts), y: num(b.close) }))
        .filter((b) => b.x !== null && b.y !== null);
    }
  }
  function addMark(p) {
    const t = timeMs(pick(p, 'last_update'));
    const price = num(pick(p, 'current_price'));
    if (t === null || !price || !p.symbol) return;
    const list = state.marks[p.symbol] || (state.marks[p.symbol] = []);
    if (list.length && list[list.length - 1].x === t) return;
    list.push({ x: t, y: price });
    if (list.length > 2000) list.splice(0, list.length - 2000);
  }

  function mergeEvents(evs) {
    const byId = new Map();
    for (const ev of state.events.concat(evs)) byId.set(String(ev.id), ev);
    state.events = [...byId.values()].sort((a, b) => num(b.id) - num(a.id)).slice(0, EVENTS_KEPT);
  }

  function tradedSymbols() {
    const set = new Set();
    for (const f of state.fills) set.add(f.symbol);
    for (const p of state.positions) set.add(p.symbol);
    return [...set].filter(Boolean).sort().slice(0, 8);
  }

  /* ---- rendering */
  function render() {
    renderSummary();
    renderPipelines();
    renderApprovals();
    renderExecutions();
    renderPositions();
    renderOrders();
    renderExits();
    renderEvents();
    renderEquity();
    renderPrices();
  }

  function renderSummary() {
    const s = state.summary || {};
    const cards = [];
    const add = (label, value, cls) => cards.push(el('div', { class: 'card' }, el('b', { class: cls || '', text: value }), el('span', { text: label })));
    const eq = s.equity && typeof s.equity === 'object' ? s.equity : null;
    if (eq) add('equity', fmtMoney(eq.equity));
    if (eq) add('cash', fmtMoney(eq.cash));
    if (pick(s, 'realized_pnl') !== undefined) add('realized P&L', fmtSigned(s.realized_pnl), signClass(s.realized_pnl));
    if (pick(s, 'unrealized_pnl') !== undefined) add('unrealized P&L', fmtSigned(s.unrealized_pnl), signClass(s.unrealized_pnl));
    if (pick(s, 'open_positions') !== undefined) add('open positions', String(s.open_positions));
    if (pick(s, 'executions') !== undefined) add('executions', String(typeof s.executions === 'object' ? s.executions.total : s.executions));
    if (pick(s, 'wins') !== undefined) add('wins / losses', s.wins + ' / ' + s.losses);
    document.getElementById('summary').replaceChildren(...cards);
  }

  /* A pipeline's last reload: the newest reload or reload_error event it wrote. */
  function lastReloadEvent(name) {
    let best = null;
    for (const ev of state.reloads.concat(state.events)) {
      if (ev.pipeline !== name || (ev.kind !== 'reload' && ev.kind !== 'reload_error')) continue;
      if (!best || (num(ev.id) || 0) > (num(best.id) || 0)) best = ev;
    }
    return best && { at: best.ts, ok: best.kind === 'reload', error: best.message };
  }

  function renderPipelines() {
    const rows = state.pipelines.map((p) => {
      const reload = pick(p, 'last_reload') || lastReloadEvent(p.name) || {};
      const reloadText = reload && (reload.at || reload.ts)
        ? fmtTime(reload.at || reload.ts) + ' ' + (reload.ok === false ? 'failed: ' : 'ok') + (reload.ok === false ? (reload.error || reload.message || '') : '')
        : 'none';
      const stateText = pick(p, 'trading_state') || (p.live === false ? 'stopped' : '');
      const halt = pick(p, 'halt_reason');
      return el('tr', {},
        td(p.name),
        el('td', {}, el('span', { class: 'status status-' + String(stateText).toLowerCase(), text: stateText }),
          p.reduce_only ? ' reduce-only' : '', halt ? ' ' + halt : ''),
        td(pick(p, 'open_positions', 'open_trades') ?? '', 'num'),
        td(fmtSigned(pick(p, 'realized_pnl')), 'num ' + signClass(pick(p, 'realized_pnl'))),
        td(reloadText, 'reason' + (reload.ok === false ? ' down' : '')));
    });
    fillBody('pipelines', rows, 'no pipeline is running (a store read by `serve` shows no live state)');
  }

  function renderApprovals() {
    const rows = state.approvals
      .filter((a) => (pick(a, 'status') || 'pending') === 'pending')
      .map((a) => el('tr', { 'data-approval': a.id },
        td(a.id), td(a.pipeline), td(a.symbol), td(sideName(a.side)), td(fmtQty(a.qty), 'num'),
        td(fmtMoney(pick(a, 'entry', 'entry_price')), 'num'), td(fmtMoney(a.stop_loss), 'num'),
        td(fmtMoney(a.take_profit), 'num'), td(fmtTime(a.expires_at)),
        el('td', {},
          el('button', { class: 'approve', text: 'Approve', onclick: () => answer(a.id, 'approve') }),
          el('button', { class: 'reject', text: 'Reject', onclick: () => answer(a.id, 'reject') }))));
    fillBody('approvals', rows, 'nothing waits for an answer');
  }

  async function answer(id, verb) {
    const msg = document.getElementById('approval-msg');
    if (!token()) {
      msg.textContent = 'Enter the API token above first (APEX_HTTP_TOKEN of the host).';
      return;
    }
    for (const b of document.querySelectorAll('[data-approval="' + id + '"] button')) b.disabled = true;
    try {
      const r = await fetch(API + '/approvals/' + encodeURIComponent(id) + '/' + verb, {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, headers()),
        body: JSON.stringify({ reason: 'dashboard' }),
      });
      const body = await r.json().catch(() => ({}));
      msg.textContent = r.ok
        ? 'approval ' + id + ': ' + verb + ' recorded; the host acts on it within a second'
        : 'approval ' + id + ': ' + ((body.error && body.error.message) || 'HTTP ' + r.status);
    } catch (e) {
      msg.textContent = 'approval ' + id + ': ' + e.message;
    }
    scheduleRefresh(['approvals', 'active', 'recent']);
  }

  /* The live figures of an execution, from its open position when there is one. */
  function positionOf(executionId) {
    return state.positions.find((p) => String(pick(p, 'execution_id')) === String(executionId));
  }

  function renderExecutions() {
    const rows = state.executions.map((e) => {
      const status = String(pick(e, 'status') || '');
      const pos = positionOf(e.id) || {};
      const pnl = pick(e, 'unrealized_pnl') ?? pick(pos, 'unrealized_pnl');
      const pnlPct = pick(e, 'unrealized_pnl_pct') ?? pick(pos, 'unrealized_pnl_pct');
      const trailing = pick(e, 'trailing_stop', 'trailing_stop_price') ?? pick(pos, 'trailing_stop_price', 'trailing_stop');
      const trailingOn = pick(e, 'trailing_active', 'trailing_stop_active') ?? pick(pos, 'trailing_stop_active');
      const nextCheck = pick(e, 'next_check_at') ?? pick(pos, 'next_check_at');
      const monitoring = status === 'monitoring';
      let pnlCell;
      if (monitoring) {
        pnlCell = el('td', { class: 'num ' + signClass(pnl) },
          el('span', { class: 'monitor-line', text: 'Monitoring ' + e.symbol + ': ' +
            (pnlPct !== undefined ? fmtPct(pnlPct) + ' P&L' : 'entry not filled yet') }),
          fmtSigned(pnl));
      } else {
        const realized = pick(e, 'realized_pnl');
        pnlCell = td(num(realized) ? fmtSigned(realized) : '', 'num ' + signClass(realized));
      }
      const reason = status === 'monitoring' ? '' : pick(e, 'reason') || '';
      return el('tr', { class: status, 'data-execution': e.id, 'data-status': status },
        td(e.id), td(e.pipeline), td(e.symbol),
        el('td', {}, el('span', { class: 'status status-' + status, text: status })),
        td(sideName(pick(e, 'side'))), td(num(pick(e, 'qty')) ? fmtQty(e.qty) : '', 'num'),
        td(num(pick(e, 'entry_price')) ? fmtMoney(e.entry_price) : '', 'num'),
        pnlCell,
        td(num(pick(e, 'stop_loss')) ? fmtMoney(e.stop_loss) : '', 'num'),
        td(num(pick(e, 'take_profit')) ? fmtMoney(e.take_profit) : '', 'num'),
        td(trailingOn && num(trailing) ? fmtMoney(trailing) : monitoring ? 'not yet' : '', 'num'),
        td(monitoring ? fmtTime(nextCheck) : ''),
        td(reason, 'reason' + (status === 'failed' ? ' down' : '')));
    });
    fillBody('executions', rows, 'no executions yet');
  }

  function renderPositions() {
    const rows = state.positions.map((p) => el('tr', { 'data-position': p.id },
      td(p.symbol), td(sideName(p.side) === 'buy' ? 'long' : 'short'), td(fmtQty(p.qty), 'num'),
      td(fmtMoney(p.entry_price), 'num'), td(fmtMoney(pick(p, 'current_price')), 'num'),
      td(fmtSigned(p.unrealized_pnl) + (pick(p, 'unrealized_pnl_pct') !== undefined ? ' (' + fmtPct(p.unrealized_pnl_pct) + ')' : ''),
        'num ' + signClass(p.unrealized_pnl))));
    fillBody('positions', rows, 'no open positions');
  }

  function renderOrders() {
    const rows = state.orders.map((o) => {
      const price = num(pick(o, 'limit_price')) || num(pick(o, 'stop_price')); /* "0" = none */
      return el('tr', {},
        td(pick(o, 'client_order_id')), td(o.symbol), td(sideName(o.side)), td(pick(o, 'type', 'order_type')),
        td(fmtQty(o.qty), 'num'), td(num(price) ? fmtMoney(price) : '', 'num'), td(o.status));
    });
    fillBody('orders', rows, 'no working orders');
  }

  function renderExits() {
    const rows = state.exits.map((x) => {
      const attempts = state.attempts.filter((a) => String(a.exit_id) === String(x.id))
        .sort((a, b) => num(a.attempt) - num(b.attempt));
      const list = attempts.length
        ? attempts.map((a) => '#' + a.attempt + ' ' + a.order_type +
          (num(a.limit_price) ? ' @ ' + fmtMoney(a.limit_price) : '') + ' ' + a.status).join(', ')
        : String(pick(x, 'attempts') ?? '');
      return el('tr', { 'data-exit': x.id },
        td(x.id), td(x.symbol), td(pick(x, 'condition', 'exit_reason')), td(pick(x, 'priority', 'exit_priority')),
        td(fmtQty(pick(x, 'qty', 'exit_quantity')), 'num'),
        td(num(pick(x, 'trigger_price', 'exit_price')) ? fmtMoney(pick(x, 'trigger_price', 'exit_price')) : '', 'num'),
        td(x.status), td(list, 'reason'));
    });
    fillBody('exits', rows, 'no exits yet');
  }

  const seenEvents = new Set();
  let firstEvents = true;
  function eventItem(ev) {
    return el('li', { 'data-event': ev.id ?? '' },
      el('span', { class: 'muted', text: fmtTime(ev.ts) + ' ' }),
      el('span', { class: 'kind', text: ev.kind || '' }),
      ' ' + (ev.pipeline ? ev.pipeline + ' ' : '') + (ev.message || ''));
  }
  function renderEvents() {
    const list = document.getElementById('events');
    const evs = state.events.slice().sort((a, b) => (num(b.id) || 0) - (num(a.id) || 0));
    const items = evs.map((ev) => {
      const li = eventItem(ev);
      if (!firstEvents && !seenEvents.has(String(ev.id))) li.classList.add('new');
      seenEvents.add(String(ev.id));
      return li;
    });
    firstEvents = false;
    list.replaceChildren(...items);
  }

  /* ---- charts (Chart.js 3, linear time axis: no date adapter needed) */
  /* A linear axis of ms since the epoch, labelled in UTC as finely as its span needs. */
  function timeAxis() {
    return {
      type: 'linear',
      ticks: {
        maxTicksLimit: 6,
        callback: function (v) {
          const span = this.max - this.min;
          const iso = new Date(v).toISOString();
          if (span < 2 * 3600e3) return iso.slice(11, 19);
          if (span < 3 * 86400e3) return iso.slice(5, 16).replace('T', ' ');
          return iso.slice(0, 10);
        },
      },
    };
  }
  function drawChart(id, config) {
    if (typeof Chart === 'undefined') return null;
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false } } }, config.options);
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update('none');
    } else {
      charts[id] = new Chart(canvas, config);
    }
    return charts[id];
  }

  /* The curve summed over pipelines at each time; drawdown from its running peak. */
  function equitySeries() {
    const byTime = new Map();
    const last = new Map(); /* pipeline -> latest equity, so a sum carries the others */
    const pts = state.equity
      .map((p) => ({ t: timeMs(p.ts), pipe: p.pipeline || '', eq: num(p.equity) }))
      .filter((p) => p.t !== null && p.eq !== null)
      .sort((a, b) => a.t - b.t);
    for (const p of pts) {
      last.set(p.pipe, p.eq);
      let sum = 0;
      for (const v of last.values()) sum += v;
      byTime.set(p.t, sum);
    }
    return [...byTime].map(([x, y]) => ({ x, y }));
  }
  function renderEquity() {
    const eq = equitySeries();
    let peak = -Infinity;
    const dd = eq.map((p) => {
      peak = Math.max(peak, p.y);
      return { x: p.x, y: peak > 0 ? ((p.y - peak) / peak) * 100 : 0 };
    });
    const eqChart = drawChart('equity-chart', {
      type: 'line',
      data: { datasets: [{ data: eq, borderColor: '#1a4fa0', borderWidth: 1.5, pointRadius: 0, tension: 0 }] },
      options: { parsing: false, scales: { x: timeAxis(), y: { ticks: { callback: (v) => fmtMoney(v) } } } },
    });
    drawChart('drawdown-chart', {
      type: 'line',
      data: { datasets: [{ data: dd, borderColor: '#b3261e', backgroundColor: 'rgba(179,38,30,0.18)', fill: 'origin', borderWidth: 1, pointRadius: 0 }] },
      options: { parsing: false, scales: { x: timeAxis(), y: { max: 0,
        ticks: { callback: function (v) { return v.toFixed(this.min > -0.1 ? 3 : this.min > -1 ? 2 : 1) + '%'; } } } } },
    });
    /* What the browser test reads: the chart exists and how many points it drew. */
    if (eqChart) document.getElementById('equity-chart').dataset.points = String(eq.length);
  }

  function renderPrices() {
    const box = document.getElementById('price-charts');
    const symbols = tradedSymbols();
    for (const sym of symbols) {
      const id = 'price-' + sym.replace(/[^A-Za-z0-9]/g, '_');
      if (!document.getElementById(id)) {
        box.append(el('div', { class: 'price' }, el('h3', { text: sym }),
          el('div', { class: 'chart' }, el('canvas', { id, 'aria-label': sym + ' price' }))));
      }
      /* A fill on the side of its execution's first fill opens; the other side closes. */
      const fills = state.fills.filter((f) => f.symbol === sym)
        .map((f) => ({ x: timeMs(f.ts), y: num(f.price), side: f.side, exec: String(f.execution_id), id: num(f.id) }))
        .filter((f) => f.x !== null && f.y !== null)
        .sort((p, q) => p.x - q.x || p.id - q.id);
      const opening = new Map();
      const entries = [];
      const exits = [];
      for (const f of fills) {
        if (!opening.has(f.exec)) opening.set(f.exec, f.side);
        const label = '#' + f.exec + ' ' + f.side;
        (opening.get(f.exec) === f.side ? entries : exits).push({ x: f.x, y: f.y, label });
      }
      const bars = state.bars[sym] || [];
      const line = bars.length ? bars
        : fills.map((f) => ({ x: f.x, y: f.y })).concat(state.marks[sym] || []).sort((p, q) => p.x - q.x);
      /* What the browser test reads: how many bars the line was drawn from. */
      document.getElementById(id).dataset.bars = String(bars.length);
      drawChart(id, {
        type: 'line',
        data: {
          datasets: [
            { label: sym, data: line, borderColor: '#444', borderWidth: 1, pointRadius: 0 },
            { label: 'entry', type: 'scatter', data: entries.filter((p) => p.x !== null), pointStyle: 'triangle', radius: 7, backgroundColor: '#137333' },
            { label: 'exit', type: 'scatter', data: exits.filter((p) => p.x !== null), pointStyle: 'triangle', rotation: 180, radius: 7, backgroundColor: '#b3261e' },
          ],
        },
        options: {
          parsing: false,
          scales: { x: timeAxis(), y: { ticks: { callback: (v) => fmtMoney(v) } } },
          plugins: { legend: { display: false },
            tooltip: { callbacks: { label: (c) => (c.raw.label ? c.raw.label + ' ' : '') + fmtMoney(c.raw.y) } } },
        },
      });
    }
  }

  /* ---- the push stream (docs/api.md): {"type": ..., "data": {...}}. Executions and
   * positions are applied as they come, events go straight into the feed, and what the
   * stream does not carry (orders, exits, fills, equity, approvals) is re-read, coalesced.
   * Reconnects with backoff (1 s doubling to 30 s). No token: the stream only reads. */
  function upsert(list, row) {
    const i = list.findIndex((x) => String(x.id) === String(row.id));
    if (i >= 0) list[i] = row;
    else list.unshift(row);
  }
  function onPush(msg) {
    const d = msg.data || {};
    switch (msg.type) {
      case 'event':
        if (!seenEvents.has(String(d.id))) {
          mergeEvents([d]);
          seenEvents.add(String(d.id));
          const li = eventItem(d);
          li.classList.add('new');
          document.getElementById('events').prepend(li);
        }
        scheduleRefresh(CHANGES[d.kind] || ALL);
        return;
      case 'execution':
        upsert(state.executions, d);
        break;
      case 'position':
        upsert(state.positions, d);
        addMark(d);
        scheduleRefresh(['bars']); /* a mark means a new bar; coalesced like the rest */
        break;
      case 'position_closed':
        state.positions = state.positions.filter((p) => String(p.id) !== String(d.id));
        break;
      default:
        return; /* hello, and kinds this page does not know */
    }
    renderExecutions();
    renderPositions();
  }

  let backoff = 1000;
  function connect() {
    const conn = document.getElementById('conn');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(proto + '//' + location.host + API + '/stream');
    ws.onopen = () => {
      backoff = 1000;
      conn.className = 'conn conn-up';
      conn.textContent = 'live';
      scheduleRefresh(ALL); /* whatever happened while we were away */
    };
    ws.onmessage = (m) => {
      document.body.dataset.pushes = String(Number(document.body.dataset.pushes || 0) + 1);
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      onPush(msg);
    };
    ws.onclose = () => {
      conn.className = 'conn conn-down';
      conn.textContent = 'reconnecting';
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function setupToken() {
    const input = document.getElementById('token');
    const stateText = document.getElementById('token-state');
    const show = () => { stateText.textContent = token() ? 'token set for this tab' : ''; };
    document.getElementById('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value);
      else sessionStorage.removeItem(TOKEN_KEY);
      input.value = '';
      show();
    });
    show();
  }

  /* The page's load time, which a reload would change: the browser test reads it to tell
   * a pushed update from a reloaded page. */
  document.documentElement.dataset.loadedAt = String(Date.now());
  setupToken();
  refresh().then(connect);
})();
