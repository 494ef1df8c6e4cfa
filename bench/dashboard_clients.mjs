// N dashboard clients for bench/dashboard_cost.sh, without a browser: each does on the
// wire what web/assets/app.js does, so the bench measures the host's cost of serving the
// page, not a renderer's CPU. Each client reads every list once, opens the push stream,
// and on each pushed event marks what its kind may have changed, re-reading the marked
// lists at most once every REFRESH_MIN_MS; equity and fills are read whole once and then
// only after the last id. The tables below are app.js's RESOURCES and CHANGES: keep them
// in step.
//
//   node --experimental-websocket bench/dashboard_clients.mjs BASE_URL N
//
// Runs until SIGTERM; then prints one line: clients, stream messages, requests, failures.
const [base, nArg] = process.argv.slice(2);
const N = Number(nArg || 10);
const REFRESH_MIN_MS = 2000;
const RESOURCES = {
  summary: '/metrics',
  pipelines: '/pipelines',
  active: '/executions?status=active&limit=1000',
  recent: '/executions?limit=100',
  positions: '/positions?status=open&limit=1000',
  orders: '/orders?status=open&limit=200',
  exits: '/exits?limit=50',
  attempts: '/exit_attempts?limit=300',
  events: '/events?limit=200',
  reloads: '/events?kind=reload&limit=50',
  reload_errors: '/events?kind=reload_error&limit=50',
  approvals: '/approvals?status=pending&limit=100',
  equity: '/equity',
  fills: '/fills',
};
const ALL = Object.keys(RESOURCES);
const MONEY_MOVED = ['summary', 'pipelines', 'active', 'recent', 'positions', 'orders', 'fills',
  'exits', 'attempts', 'equity'];
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
  signal: [], coordinator: [], risk: [], risk_limit: [], market_data: [], data_source: [],
  rate_limit: [],
};
let messages = 0;
let requests = 0;
let failed = 0; /* HTTP answers other than 2xx, and requests that could not be made */
let closed = 0; /* stream closes (the host's end counts one per client) */
const why = new Map(); /* failure -> count */
function failure(text) {
  failed++;
  why.set(text, (why.get(text) || 0) + 1);
}

async function get(path) {
  requests++;
  try {
    const r = await fetch(base + '/api/v1' + path);
    const body = await r.json();
    if (!r.ok) failure(r.status + ' ' + ((body.error && body.error.message) || ''));
    return body;
  } catch (e) {
    failure(String(e.cause || e.message));
    return null;
  }
}

function client() {
  const dirty = new Set(ALL);
  const after = { equity: 0, fills: 0 };
  let last = 0;
  let timer = null;
  let busy = false;
  async function read(key) {
    if (!(key in after)) return get(RESOURCES[key]);
    const b = await get(RESOURCES[key] + (after[key] ? '?after=' + after[key] + '&limit=1000' : '?limit=1000'));
    for (const row of (b && b.data) || []) after[key] = Math.max(after[key], row.id);
    return b;
  }
  async function refresh() {
    if (busy) return;
    busy = true;
    last = Date.now();
    const keys = [...dirty];
    dirty.clear();
    await Promise.all(keys.map(read));
    busy = false;
    if (dirty.size) schedule([]);
  }
  function schedule(keys) {
    for (const k of keys) dirty.add(k);
    if (timer || dirty.size === 0) return;
    timer = setTimeout(() => { timer = null; refresh(); }, Math.max(0, REFRESH_MIN_MS - (Date.now() - last)));
  }
  function connect() {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/api/v1/stream');
    ws.onopen = () => schedule(ALL);
    ws.onmessage = (m) => {
      messages++;
      let msg = null;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === 'event') schedule(CHANGES[msg.data.kind] || ALL);
    };
    ws.onclose = () => { closed++; setTimeout(connect, 1000); };
  }
  refresh().then(connect);
}

for (let i = 0; i < N; i++) client();
process.on('SIGTERM', () => {
  console.log(`${N} clients: ${messages} stream messages, ${requests} requests, ${failed} failed, ${closed} stream closes`);
  for (const [text, n] of why) console.error(`${n} x ${text}`);
  process.exit(0);
});
