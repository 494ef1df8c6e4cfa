// A small Chrome DevTools Protocol client for the dashboard's browser test
// (tests/integration/dashboard_browser.sh) and its screenshot (make dashboard-screenshot).
// Node's own WebSocket (node --experimental-websocket, Node 20) and child_process only:
// no npm package.
//
//   node --experimental-websocket tests/browser/cdp.mjs CHROMIUM URL COMMANDS.json
//
// It starts headless Chromium with a throwaway profile, opens URL in one tab and runs the
// commands of COMMANDS.json (a list) in order, printing one JSON line per command:
//   {"wait": "JS expression", "timeout_ms": 15000, "name": "..."}
//        evaluates the expression in the page until it is truthy; prints its value, or
//        fails with the last value once the timeout passes
//   {"eval": "JS expression", "name": "..."}      prints the value once
//   {"screenshot": "out.png", "width": 1280, "height": 1400}
//   {"mark": "name"}  prints the page's load stamp (a reload would change it)
// Exit status 0 when every command succeeded; 1 otherwise (the failing command's line
// says why). Chromium is killed on every path out.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, url, commandsFile] = process.argv.slice(2);
if (!chromium || !url || !commandsFile) {
  console.error('usage: cdp.mjs CHROMIUM URL COMMANDS.json');
  process.exit(2);
}
const commands = JSON.parse(readFileSync(commandsFile, 'utf8'));
const t0 = Date.now();
const since = () => Date.now() - t0; /* ms since start, for a slow run's diagnosis only */
const profile = mkdtempSync(join(tmpdir(), 'apex-cdp-'));
const browser = spawn(chromium, [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--no-first-run', '--no-default-browser-check', '--disable-extensions',
  '--hide-scrollbars', '--mute-audio', '--remote-debugging-address=127.0.0.1',
  '--remote-debugging-port=0', '--user-data-dir=' + profile, 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  try { browser.kill('SIGKILL'); } catch (e) { /* gone already */ }
  browser.once('exit', () => {
    rmSync(profile, { recursive: true, force: true });
    process.exit(code);
  });
  setTimeout(() => process.exit(code), 3000).unref();
}
process.on('uncaughtException', (e) => { console.log(JSON.stringify({ error: String(e && e.stack || e) })); finish(1); });

// Chromium prints the browser's DevTools endpoint on stderr.
const endpoint = await new Promise((resolve, reject) => {
  let err = '';
  const timer = setTimeout(() => reject(new Error('chromium printed no DevTools endpoint in 30 s: ' + err.slice(-800))), 30000);
  browser.stderr.on('data', (d) => {
    err += d;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  browser.on('exit', (c) => reject(new Error('chromium exited (' + c + '): ' + err.slice(-800))));
}).catch((e) => { console.log(JSON.stringify({ error: e.message })); finish(1); });
if (!endpoint) await new Promise(() => {});

const ws = new WebSocket(endpoint);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('cannot reach ' + endpoint)); });
let nextId = 1;
const pending = new Map();
const consoleLines = [];
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(msg.error.message)); else resolve(msg.result);
  } else if (msg.method === 'Runtime.exceptionThrown') {
    consoleLines.push('exception: ' + (msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text));
  } else if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') {
    consoleLines.push('console.error: ' + msg.params.args.map((a) => a.value ?? a.description).join(' '));
  }
};
function send(method, params = {}, sessionId) {
  const id = nextId++;
  ws.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

// The tab Chromium opened at start (about:blank): creating another costs a renderer start.
const { targetInfos } = await send('Target.getTargets');
const first = targetInfos.find((t) => t.type === 'page');
const { targetId } = first || (await send('Target.createTarget', { url: 'about:blank' }));
const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
const page = (method, params) => send(method, params, sessionId);
await page('Runtime.enable');
await page('Page.enable');
await page('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1400, deviceScaleFactor: 1, mobile: false });
await page('Page.navigate', { url });

async function evaluate(expression) {
  const r = await page('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description || r.exceptionDetails.text);
  return r.result.value;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let ok = true;
for (const c of commands) {
  const name = c.name || c.wait || c.eval || c.screenshot || c.mark;
  try {
    if (c.wait) {
      const deadline = Date.now() + (c.timeout_ms || 15000);
      let v;
      for (;;) {
        try { v = await evaluate(c.wait); } catch (e) { v = 'error: ' + e.message; }
        if (v && !(typeof v === 'string' && v.startsWith('error: '))) break;
        if (Date.now() > deadline) throw new Error('still ' + JSON.stringify(v) + ' after ' + (c.timeout_ms || 15000) + ' ms');
        await sleep(100);
      }
      console.log(JSON.stringify({ name, ok: true, value: v, at_ms: since() }));
    } else if (c.eval) {
      console.log(JSON.stringify({ name, ok: true, value: await evaluate(c.eval), at_ms: since() }));
    } else if (c.mark) {
      console.log(JSON.stringify({ name, ok: true, value: await evaluate('document.documentElement.dataset.loadedAt') }));
    } else if (c.screenshot) {
      await page('Emulation.setDeviceMetricsOverride', { width: c.width || 1280, height: c.height || 1400, deviceScaleFactor: 1, mobile: false });
      await sleep(300); /* a resize redraws the charts */
      const shot = await page('Page.captureScreenshot', { format: 'png' });
      writeFileSync(c.screenshot, Buffer.from(shot.data, 'base64'));
      console.log(JSON.stringify({ name, ok: true, value: c.screenshot }));
    }
  } catch (e) {
    ok = false;
    console.log(JSON.stringify({ name, ok: false, error: e.message, page_errors: consoleLines }));
    break;
  }
}
if (ok && consoleLines.length) console.log(JSON.stringify({ name: 'page errors', ok: true, value: consoleLines }));
ws.close();
finish(ok ? 0 : 1);
