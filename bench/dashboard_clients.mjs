// N dashboard clients for bench/dashboard_cost.sh, without a browser: each does on the
// wire what web/assets/app.js does, so the bench measures the host's cost of serving the
// page, not a renderer's CPU. Each client reads every list once, opens the push stream,
// and on every pushed message schedules the page's re-read of the lists, at most once
// every REFRESH_MIN_MS (the same coalescing and the same requests as app.js's RESOURCES
// and loadEquity; keep them in step).
//
//   node --experimental-websocket bench/dashboard_clients.mjs BASE_URL N
//
// Runs until SIGTERM; then prints one line: clients, stream messages, HTTP requests, errors.
const [base, nArg] = process.argv.slice(2);
const N = Number(nArg || 10);
const REFRESH_MIN_MS = 2000;
const PATHS = [
  '/metrics', '/pipelines', '/executions?status=active&limit=1000', '/executions?limit=100',
  '/positions?status=open&limit=1000', '/orders?status=open&limit=200', '/exits?limit=50',
  '/exit_attempts?limit=300', '/fills?limit=1000', '/events?limit=200',
  '/events?kind=reload&limit=50', '/events?kind=reload_error&limit=50',
  '/approvals?status=pending&limit=100',
];
let messages = 0;
let requests = 0;
let errors = 0; /* HTTP answers other than 2xx, and requests that failed */
let closed = 0; /* stream closes (the host's end counts one per client) */

function client() {
  let equityAfter = 0;
  let last = 0;
  let timer = null;
  let busy = false;
  async function get(path) {
    requests++;
    try {
      const r = await fetch(base + '/api/v1' + path);
      const body = await r.json();
      if (!r.ok) errors++;
      return body;
    } catch (e) {
      errors++;
      return null;
    }
  }
  async function refresh() {
    if (busy) return;
    busy = true;
    last = Date.now();
    await Promise.all(PATHS.map(get));
    const eq = await get(equityAfter ? '/equity?after=' + equityAfter + '&limit=1000' : '/equity?limit=1000');
    for (const p of (eq && eq.data) || []) equityAfter = Math.max(equityAfter, p.id);
    busy = false;
  }
  function schedule() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, Math.max(0, REFRESH_MIN_MS - (Date.now() - last)));
  }
  function connect() {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/api/v1/stream');
    ws.onopen = schedule;
    ws.onmessage = () => { messages++; schedule(); };
    ws.onclose = () => { closed++; setTimeout(connect, 1000); };
  }
  refresh().then(connect);
}

for (let i = 0; i < N; i++) client();
process.on('SIGTERM', () => {
  console.log(`${N} clients: ${messages} stream messages, ${requests} requests, ${errors} failed, ${closed} stream closes`);
  process.exit(0);
});
