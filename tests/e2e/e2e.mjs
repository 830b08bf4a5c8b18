// e2e.mjs - the web consoles in a real browser (headless Chromium driven by
// Playwright), against a running daemon.  Run by scripts/e2e.sh, which
// starts PostgreSQL and the daemon (one van, van1; clock at 09:00; demo
// tokens) and passes:
//
//   E2E_BASE       the daemon's address, e.g. http://127.0.0.1:41234
//   E2E_TOKENS     the demo tokens file ({"operator": "...", "driver": ...})
//   E2E_ARTIFACTS  where the screenshots go
//
// The scenario, one test after the other (a test whose prerequisite failed
// is skipped):  the chooser; the operator registers a rider, meets the
// alternatives of a trip no van can take and declines one, books the demo
// rider's trip and confirms it; the driver's tablet (connected before the
// booking) shows the new stop pushed over the WebSocket; the driver marks
// Arrived and Boarded and the operator's list turns to picked_up; a
// connection drop while an event is unacknowledged (the WebSocket is
// proxied through Playwright to cut it) is survived by re-sending the
// event with the same id; the drop-off completes the trip; the live map
// shows the van and the numbers; the operator cancels a booking from the
// list.  When the daemon has no driver channel yet (the upgrade answers
// 501), the driver's tests are reported as skipped.
//
// Output is cmocka-like, so scripts/run-tests.sh counts it:
//   [ RUN      ] name / [       OK ] name / [  FAILED  ] name / [  SKIPPED ] name
//   [  PASSED  ] N test(s).   [  FAILED  ] N test(s), listed below:
import http from 'node:http';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
// The npm packages live with the consoles (api/web/node_modules).
const require = createRequire(join(repo, 'api/web/package.json'));
const { chromium } = require('playwright-core');
const protobuf = require('protobufjs');

const BASE = process.env.E2E_BASE;
const ART = process.env.E2E_ARTIFACTS || join(here, 'artifacts');
if (!BASE || !process.env.E2E_TOKENS) {
    console.error('e2e.mjs: set E2E_BASE and E2E_TOKENS (scripts/e2e.sh does)');
    process.exit(2);
}
const TOK = JSON.parse(readFileSync(process.env.E2E_TOKENS, 'utf8'));
mkdirSync(ART, { recursive: true });
// Screenshots of an earlier run would mislead: ours go (nothing else).
for (const f of readdirSync(ART)) {
    if (/^(\d\d-[a-z0-9-]+|failed-[a-z0-9_-]+)\.png$/.test(f)) {
        rmSync(join(ART, f));
    }
}

const proto = protobuf.loadSync(join(repo, 'data/proto/driver.proto'));
const ServerMessage = proto.lookupType('noriai.driver.ServerMessage');
const TabletMessage = proto.lookupType('noriai.driver.TabletMessage');
const asObj = (T, buf) => T.toObject(T.decode(buf), { longs: Number, enums: String, oneofs: true });

// ---------------------------------------------------------------------------
// A tiny runner

const tests = [];
function test(name, fn, opts = {}) {
    tests.push({ name, fn, ...opts });
}

function assert(cond, msg) {
    if (!cond) {
        throw new Error(msg);
    }
}

async function apiGet(path, token = TOK.operator) {
    const r = await fetch(BASE + path, { headers: { Authorization: `Bearer ${token}` } });
    const j = await r.json();
    if (!r.ok) {
        throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(j)}`);
    }
    return j;
}

async function waitFor(what, fn, ms = 15000, every = 250) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
        try {
            last = await fn();
            if (last) {
                return last;
            }
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, every));
    }
    throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// 'ok' when the upgrade with ?access_token= succeeds; 'absent' when the daemon
// has no driver channel yet (501); otherwise what the upgrade answered.
function probeDriverChannel() {
    const tryOnce = (path, headers) =>
        new Promise((res) => {
            const u = new URL(BASE + path);
            const req = http.request({
                host: u.hostname,
                port: u.port,
                path: u.pathname + u.search,
                headers: {
                    Connection: 'Upgrade',
                    Upgrade: 'websocket',
                    'Sec-WebSocket-Version': '13',
                    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
                    ...headers,
                },
            });
            req.on('upgrade', (r, sock) => {
                sock.destroy();
                res(101);
            });
            req.on('response', (r) => {
                r.resume();
                res(r.statusCode);
            });
            req.on('error', () => res(0));
            req.setTimeout(5000, () => req.destroy());
            req.end();
        });
    return (async () => {
        const q = await tryOnce(`/v1/driver/ws?access_token=${encodeURIComponent(TOK.driver)}`, { 'Sec-WebSocket-Protocol': 'noriai.driver.v1' });
        if (q === 101) {
            return 'ok';
        }
        const h = await tryOnce('/v1/driver/ws', { Authorization: `Bearer ${TOK.driver}` });
        if (h === 501) {
            return 'absent';
        }
        return `upgrade with ?access_token= answered ${q}, with the Authorization header ${h}`;
    })();
}

// ---------------------------------------------------------------------------
// Shared state of the scenario

const S = {
    browser: null,
    op: null, // the operator's page
    drv: null, // the driver's page
    stops: null,
    bookingId: '',
    op2: null, // the operator's page at 1280x800 with a clock the test moves
    channel: 'absent',
    ws: null, // the driver page's proxied WebSocket: {page, server, dropAcks, sent: [], opened}
    wsCount: 0,
};

// The whole page (the operator's list is below the fold on smaller screens).
async function shot(page, name) {
    await page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
}

function stopName(id) {
    const s = S.stops.find((x) => x.id === id);
    assert(s, `no stop ${id} in the area`);
    return s.name;
}

async function newPage(viewport, errors) {
    const ctx = await S.browser.newContext({ viewport, locale: 'ja-JP' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => errors.push(e.message));
    return { ctx, page };
}

const pageErrors = [];

// ---------------------------------------------------------------------------
// Tests

test('chooser', async () => {
    const { page } = await newPage({ width: 1280, height: 800 }, pageErrors);
    await page.goto(`${BASE}/`);
    assert(page.url().endsWith('/web/'), `GET / should lead to /web/, got ${page.url()}`);
    for (const c of ['operator', 'driver', 'map']) {
        assert((await page.locator(`a[href="${c}/"]`).count()) === 1, `no link to the ${c} console`);
    }
    await shot(page, '01-chooser');
    await axeCheck(page, 'the chooser');
    await page.close();
});

test('operator_console_loads', async () => {
    S.stops = (await apiGet('/v1/stops?limit=1000')).stops;
    const { page } = await newPage({ width: 1440, height: 1000 }, pageErrors);
    S.op = page;
    await page.goto(`${BASE}/web/operator/?token=${TOK.operator}`);
    await waitFor('the map of stops', async () => (await page.locator('svg#map .stopmark').count()) === S.stops.length);
    assert(!page.url().includes('token='), 'the token stays in the address bar');
    assert((await page.locator('h1').innerText()).includes('オペレーター'), 'Japanese by default');
    await page.click('#lang');
    assert((await page.locator('h1').innerText()).includes('Operator console'), 'English after the switch');
    await page.click('#lang');
    assert((await page.locator('h1').innerText()).includes('オペレーター'), 'Japanese again');
});

test(
    'operator_registers_rider',
    async () => {
        const page = S.op;
        await page.click('#rider-new summary');
        await page.fill('#rf-name', '試験 太郎');
        await page.fill('#rf-kana', 'しけん たろう');
        await page.fill('#rf-phone', '0120-111-222');
        await page.fill('#rf-home-q', stopName('s020'));
        await page.press('#rf-home-q', 'Enter');
        // Stops are shown by name; their ids only ride in data-stop.
        await page.locator('#rf-home[data-stop="s020"]').waitFor();
        await page.check('#rf-wheelchair');
        await page.fill('#rf-mobility', '杖');
        await page.click('#rider-form button[type=submit]');
        await page.locator('#rider-card', { hasText: '試験 太郎' }).waitFor();
        const r = await apiGet('/v1/riders?phone=0120111222');
        assert(r.riders.length === 1 && r.riders[0].name === '試験 太郎', 'the new rider is not in the API');
        assert(r.riders[0].wheelchair === true && r.riders[0].home_stop_id === 's020', 'rider fields lost');
    },
    { needs: ['operator_console_loads'] },
);

test(
    'operator_alternatives',
    async () => {
        const page = S.op;
        // Find the demo rider by kana.
        await page.fill('#rider-q', 'のりあい');
        await page.press('#rider-q', 'Enter');
        await page.locator('#rider-card[data-rider="r_demo"]').waitFor();
        // Pickup by name, drop-off by a click on the map.
        await page.fill('#pickup-q', stopName('s010'));
        await page.press('#pickup-q', 'Enter');
        await page.locator('#pickup-chosen[data-stop="s010"]').waitFor();
        await page.locator('svg#map .stopmark[data-stop="s040"]').click();
        await page.locator('#dropoff-chosen[data-stop="s040"]').waitFor();
        // Too late in the day: the van cannot do it, earlier times are offered.
        await page.check('input[name=when][value=depart_after]');
        await page.fill('#time', '18:55');
        await page.click('#offer-btn');
        const alt = page.locator('#offer .card.alts button').first();
        await alt.waitFor();
        await shot(page, '02-operator-alternatives');
        await alt.click();
        const card = page.locator('#offer .card[data-booking]');
        await card.waitFor();
        const id = await card.getAttribute('data-booking');
        await page.locator('#offer button.secondary').click(); // decline
        await waitFor('the declined offer cancelled', async () => (await apiGet(`/v1/bookings/${id}`)).status === 'cancelled');
    },
    { needs: ['operator_console_loads'] },
);

test(
    'driver_connects',
    async () => {
        const { ctx, page } = await newPage({ width: 1280, height: 800 }, pageErrors);
        S.drv = page;
        // The tablet's WebSocket goes through Playwright, so a test can cut
        // it or hold back the daemon's acknowledgements.
        await ctx.routeWebSocket(/\/v1\/driver\/ws/, (ws) => {
            const server = ws.connectToServer();
            const conn = { ws, server, dropAcks: false, sent: [], n: ++S.wsCount };
            S.ws = conn;
            ws.onMessage((m) => {
                try {
                    conn.sent.push(asObj(TabletMessage, Buffer.from(m)));
                } catch {
                    conn.sent.push({ undecodable: true });
                }
                server.send(m);
            });
            server.onMessage((m) => {
                let msg = null;
                try {
                    msg = asObj(ServerMessage, Buffer.from(m));
                } catch {
                    /* forwarded as it is */
                }
                if (conn.dropAcks && msg && msg.ack) {
                    return;
                }
                ws.send(m);
            });
            ws.onClose((code, reason) => server.close({ code, reason }));
            server.onClose((code, reason) => ws.close({ code, reason }));
        });
        await page.goto(`${BASE}/web/driver/?token=${TOK.driver}`);
        await page.locator('#conn[data-state="on"]').waitFor();
        assert((await page.locator('#vehicle').innerText()) === 'van1', 'the tablet is not van1');
        await waitFor('Hello', async () => S.ws && S.ws.sent.some((m) => m.hello && m.hello.vehicleId === 'van1'));
        await shot(page, '03-driver-before');
        await axeCheck(page, 'the driver tablet');
    },
    { driver: true },
);

test(
    'operator_books_trip',
    async () => {
        const page = S.op;
        await page.check('input[name=when][value=asap]');
        // Enter in a field of the form asks for the offer.
        await page.press('#passengers', 'Enter');
        const card = page.locator('#offer .card[data-booking]');
        await card.waitFor();
        S.bookingId = await card.getAttribute('data-booking');
        assert((await card.innerText()).includes('van1'), 'the offer is not on van1');
        await shot(page, '04-operator-offer');
        S.confirmAt = Date.now();
        await page.click('#confirm-btn');
        // The message names the rider and the window, never the booking's id.
        await page.locator(`#global-msg.ok[data-booking="${S.bookingId}"]`).waitFor();
        const row = page.locator(`#bookings tr[data-booking="${S.bookingId}"]`);
        await row.waitFor();
        // The list refreshes on its own schedule: a row drawn while the
        // booking was offered turns confirmed at the next refresh.
        await waitFor('the confirmed status in the list', async () =>
            ['confirmed', 'assigned'].includes(await row.getAttribute('data-status')));
        await shot(page, '05-operator-confirmed');
    },
    { needs: ['operator_alternatives'] },
);

test(
    'driver_shows_new_stop',
    async () => {
        const page = S.drv;
        const li = page.locator(`#stops li[data-bookings~="${S.bookingId}"]`).first();
        await li.waitFor({ timeout: 10000 });
        const ms = Date.now() - S.confirmAt;
        console.log(`    (the new stop was on the tablet ${ms} ms after Confirm was clicked)`);
        assert((await li.innerText()).includes(stopName('s010')), 'the pickup stop is not shown');
        assert((await li.innerText()).includes('乗合 花子'), "the rider's name is not shown");
        assert(
            S.ws.sent.some((m) => m.ack && /^seq:\d+$/.test(m.ack.eventId || m.eventId)),
            'the route update was not acknowledged',
        );
        await shot(page, '06-driver-new-stop');
    },
    { driver: true, needs: ['driver_connects', 'operator_books_trip'] },
);

async function pendingZero(page) {
    await page.locator('#pending[data-count="0"]').waitFor({ state: 'attached' });
}

test(
    'driver_arrived_boarded',
    async () => {
        const page = S.drv;
        await page.locator(`#stops li[data-bookings~="${S.bookingId}"]`).first().click();
        await page.locator('#current button[data-action="arrived"]').click();
        await pendingZero(page);
        await page.locator(`#current .rider[data-booking="${S.bookingId}"] button[data-action="boarded"]`).click();
        await pendingZero(page);
        await waitFor('picked_up in the API', async () => (await apiGet(`/v1/bookings/${S.bookingId}`)).status === 'picked_up');
        await shot(page, '07-driver-boarded');
    },
    { driver: true, needs: ['driver_shows_new_stop'] },
);

test(
    'operator_sees_picked_up',
    async () => {
        const page = S.op;
        await page.locator(`#bookings tr[data-booking="${S.bookingId}"][data-status="picked_up"]`).waitFor({ timeout: 15000 });
        await shot(page, '08-operator-picked-up');
    },
    { driver: true, needs: ['driver_arrived_boarded'] },
);

test(
    'driver_resends_after_drop',
    async () => {
        const page = S.drv;
        const before = S.ws;
        // The next thing to report: Departed where the rider boarded, or
        // Arrived at the drop-off if the pickup has left the route.
        const btn = page.locator('#current button[data-action="departed"]:not([disabled]), #current button[data-action="arrived"]:not([disabled])').first();
        before.dropAcks = true;
        const nSent = before.sent.length;
        await btn.click();
        const ev = await waitFor('the event sent', async () =>
            before.sent.slice(nSent).find((m) => m.eventId && (m.departed || m.arrived)),
        );
        await page.locator('#pending[data-count="1"]').waitFor({ state: 'attached' });
        // Cut the connection while the event is unacknowledged.
        before.ws.close({ code: 1001, reason: 'e2e drop' });
        await page.locator('#conn[data-state="off"], #conn[data-state="connecting"]').first().waitFor();
        await waitFor('a new connection', async () => S.ws !== before, 20000);
        await page.locator('#conn[data-state="on"]').waitFor();
        await pendingZero(page);
        const resent = S.ws.sent.filter((m) => m.eventId === ev.eventId);
        assert(resent.length >= 1, 'the event was not sent again on the new connection');
        const hello = S.ws.sent.find((m) => m.hello);
        assert(hello && hello.hello.lastSeq > 0, 'Hello after the drop does not carry the last sequence number');
    },
    { driver: true, needs: ['driver_arrived_boarded'] },
);

test(
    'driver_queue_survives_reload',
    async () => {
        const page = S.drv;
        // Arrived at the drop-off, its Ack held back, then the page reloaded:
        // the event waits in localStorage and goes out again.
        const drop = page.locator(`#current .rider.dropoff[data-booking="${S.bookingId}"]`);
        await drop.waitFor();
        const before = S.ws;
        before.dropAcks = true;
        const nSent = before.sent.length;
        await page.locator('#current button[data-action="arrived"]').click();
        const ev = await waitFor('the event sent', async () => before.sent.slice(nSent).find((m) => m.arrived));
        await page.locator('#pending[data-count="1"]').waitFor({ state: 'attached' });
        await page.reload();
        await waitFor('a new connection', async () => S.ws !== before);
        await page.locator('#conn[data-state="on"]').waitFor();
        await pendingZero(page);
        assert(S.ws.sent.some((m) => m.eventId === ev.eventId), 'the queued event was not sent after the reload');
        assert((await page.locator(`#stops li[data-bookings~="${S.bookingId}"]`).count()) === 1, 'the route is gone after the reload');
    },
    { driver: true, needs: ['driver_resends_after_drop'] },
);

test(
    'driver_drop_off',
    async () => {
        const page = S.drv;
        const drop = page.locator(`#current .rider.dropoff[data-booking="${S.bookingId}"]`);
        await drop.locator('button[data-action="alighted"]').click();
        await pendingZero(page);
        await waitFor('dropped_off in the API', async () => (await apiGet(`/v1/bookings/${S.bookingId}`)).status === 'dropped_off');
        await S.op.locator(`#bookings tr[data-booking="${S.bookingId}"]`).first().waitFor({ state: 'detached' });
        await shot(page, '09-driver-after-trip');
    },
    { driver: true, needs: ['driver_queue_survives_reload'] },
);

test(
    'map_dashboard',
    async () => {
        const { page } = await newPage({ width: 1440, height: 900 }, pageErrors);
        await page.goto(`${BASE}/web/map/?token=${TOK.operator}`);
        await page.locator('#vehicles tr[data-vehicle="van1"]').waitFor();
        await waitFor('the stops', async () => (await page.locator('svg#map .stopmark').count()) === S.stops.length);
        await waitFor('the van on the map', async () => (await page.locator('svg#map .vehicle').count()) === 1);
        const trips = Number(await page.locator('#numbers [data-key="trips"] .v').innerText());
        assert(trips >= 1, `trips booked shows ${trips}`);
        await shot(page, '10-map');
        await axeCheck(page, 'the live map');
        await page.click('#lang');
        await waitFor('English', async () => (await page.locator('h1').innerText()) === 'Live map');
        await shot(page, '11-map-en');
        await page.click('#lang');
        await page.close();
    },
    { needs: ['operator_books_trip'] },
);

test(
    'operator_cancels_booking',
    async () => {
        const page = S.op;
        await page.fill('#pickup-q', stopName('s030'));
        await page.press('#pickup-q', 'Enter');
        await page.locator('#pickup-chosen[data-stop="s030"]').waitFor();
        await page.fill('#dropoff-q', stopName('s050'));
        await page.press('#dropoff-q', 'Enter');
        await page.locator('#dropoff-chosen[data-stop="s050"]').waitFor();
        await page.check('input[name=when][value=depart_after]');
        await page.fill('#time', '10:30');
        await page.click('#offer-btn');
        const card = page.locator('#offer .card[data-booking]');
        await card.waitFor();
        const id = await card.getAttribute('data-booking');
        await page.click('#confirm-btn');
        const row = page.locator(`#bookings tr[data-booking="${id}"]`);
        await row.waitFor();
        page.once('dialog', (d) => d.accept());
        await row.locator('button.danger').click();
        await waitFor('cancelled in the API', async () => (await apiGet(`/v1/bookings/${id}`)).status === 'cancelled');
        if (S.drv && S.channel === 'ok') {
            // The tablet hears of it (a Cancellation after the route update).
            await S.drv.locator('#notices .notice.bad', { hasText: '取消' }).waitFor();
            assert((await S.drv.locator(`#stops li[data-bookings~="${id}"]`).count()) === 0, 'the cancelled stop is still on the tablet');
            await shot(S.drv, '13-driver-cancellation');
        }
        await page.check('#bk-all');
        await page.locator(`#bookings tr[data-booking="${id}"][data-status="cancelled"]`).waitFor();
        await shot(page, '12-operator-list');
    },
    { needs: ['operator_alternatives'] },
);

// ---------------------------------------------------------------------------
// The operator console in Japanese: errors, the offer's hold, any day's list

// Latin words of three letters or more: English on a Japanese screen.
// (Stop, van and time texts of the demo town have none but "van1".)
function englishWords(text) {
    return (text.replace(/van\d+/g, '').match(/[A-Za-z]{3,}/g) || []).filter((w) => w !== 'Alt');
}

// The server's English error messages the page received.
function watchErrorMessages(page) {
    const seen = [];
    page.on('response', async (r) => {
        if (r.status() >= 400 && r.url().includes('/v1/')) {
            try {
                const j = await r.json();
                if (j && j.error && j.error.message) {
                    seen.push(j.error.message);
                }
            } catch {
                /* not JSON */
            }
        }
    });
    return seen;
}

// axe-core (a dev package of the consoles, installed by make deps): no
// serious or critical violation.  Evaluated through the browser's debugger
// protocol, which the pages' CSP (script-src 'self') does not block, rather
// than as an injected inline script.
const AXE_SRC = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function axeCheck(page, what) {
    await page.evaluate(AXE_SRC);
    const res = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
    });
    assert(res.length === 0, `axe on ${what}: ${res.join(', ')}`);
}

async function pickStop(page, which, id) {
    await page.fill(`#${which}-q`, stopName(id));
    await page.press(`#${which}-q`, 'Enter');
    await page.locator(`#${which}-chosen[data-stop="${id}"]`).waitFor();
}

test(
    'operator_errors_in_japanese',
    async () => {
        const page = S.op;
        const msgs = watchErrorMessages(page);
        const banner = page.locator('#global-msg');
        // A phone number longer than the API takes: 400 invalid_field.
        await page.click('#rider-new summary');
        await page.fill('#rf-name', '試験 電話');
        await page.fill('#rf-phone', '0'.repeat(40));
        await page.click('#rider-form button[type=submit]');
        await page.locator('#global-msg.error[data-code="invalid_field"]').waitFor();
        let text = await banner.innerText();
        assert(/[ぁ-んァ-ン一-龥]/.test(text), `the error is not in Japanese: ${text}`);
        assert(englishWords(text).length === 0, `English in the Japanese error: ${text}`);
        await shot(page, '14-operator-error-ja');
        await axeCheck(page, 'the operator console with an error');
        // The same error after the switch to English, and back.
        await page.click('#lang');
        text = await banner.innerText();
        assert(/not valid/.test(text), `no English sentence on the English screen: ${text}`);
        await page.click('#lang');
        assert(englishWords(await banner.innerText()).length === 0, 'English stays after switching back');
        await page.click('#rider-new summary');
        // Codes the daemon will answer (booking rules) and one no table
        // knows, answered here in the daemon's place.
        await page.route('**/v1/bookings', async (route) => {
            if (route.request().method() !== 'POST') {
                return route.fallback();
            }
            const code = route.request().postDataJSON().time === '10:05' ? 'too_soon' : 'brand_new_code';
            await route.fulfill({
                status: 422,
                contentType: 'application/json',
                body: JSON.stringify({ error: { code, message: `refused for an English reason (${code})` } }),
            });
        });
        await page.fill('#rider-q', 'のりあい');
        await page.press('#rider-q', 'Enter');
        await page.locator('#rider-card[data-rider="r_demo"]').waitFor();
        await pickStop(page, 'pickup', 's010');
        await pickStop(page, 'dropoff', 's040');
        await page.check('input[name=when][value=depart_after]');
        await page.fill('#time', '10:05');
        await page.click('#offer-btn');
        await page.locator('#global-msg.error[data-code="too_soon"]').waitFor();
        text = await banner.innerText();
        assert(text.includes('出発までの時間が短すぎます'), `too_soon: ${text}`);
        await page.fill('#time', '10:10');
        await page.click('#offer-btn');
        await page.locator('#global-msg.error[data-code="brand_new_code"]').waitFor();
        text = await banner.innerText();
        assert(text.includes('brand_new_code') && text.includes('エラー'), `unknown code: ${text}`);
        assert(!text.includes('English reason'), `the server's message is on the Japanese screen: ${text}`);
        await page.unroute('**/v1/bookings');
        // A trip no van can take (after hours): the reason in Japanese.
        await page.fill('#time', '18:55');
        await page.click('#offer-btn');
        const alts = page.locator('#offer .card.alts');
        await alts.waitFor();
        const altText = await alts.innerText();
        assert(englishWords(altText).length === 0, `English in the alternatives: ${altText}`);
        await shot(page, '15-operator-alternatives-ja');
        // Nothing the server said in English is anywhere on the page.
        const body = await page.locator('body').innerText();
        for (const m of msgs) {
            assert(!body.includes(m), `the server's message is on the page: ${m}`);
        }
        assert(msgs.length >= 2, `expected English messages from the server, saw ${msgs.length}`);
        assert(!/\b(bk|r|tk)_[0-9a-z]+/.test(body), 'an internal id is on the page');
        await page.evaluate(() => {
            document.querySelector('#offer').replaceChildren();
        });
    },
    { needs: ['operator_console_loads'] },
);

// A page of its own at 1280x800 whose clock Playwright moves: the offer's
// hold (offer_ttl_s, 120 s) runs out in the page while the test waits a
// few seconds.
test(
    'operator_offer_expires',
    async () => {
        const ctx = await S.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ja-JP' });
        await ctx.clock.install();
        const page = await ctx.newPage();
        page.setDefaultTimeout(15000);
        page.on('pageerror', (e) => pageErrors.push(e.message));
        S.op2 = page;
        await page.goto(`${BASE}/web/operator/?token=${TOK.operator}`);
        await waitFor('the map of stops', async () => (await page.locator('svg#map .stopmark').count()) === S.stops.length);
        await page.fill('#rider-q', 'のりあい');
        await page.press('#rider-q', 'Enter');
        await page.locator('#rider-card[data-rider="r_demo"]').waitFor();
        await pickStop(page, 'pickup', 's030');
        await pickStop(page, 'dropoff', 's050');
        await page.check('input[name=when][value=depart_after]');
        await page.fill('#time', '11:30');
        await page.click('#offer-btn');
        const card = page.locator('#offer .card[data-booking]');
        await card.waitFor();
        const id = await card.getAttribute('data-booking');
        const left = page.locator('#offer-left');
        const secs = Number(await left.getAttribute('data-left'));
        assert(secs > 100 && secs <= 120, `the hold starts at ${secs} s`);
        assert(/保留 残り [12]:\d\d/.test(await left.innerText()), `countdown: ${await left.innerText()}`);
        await page.clock.fastForward(61000);
        await waitFor('the countdown under a minute', async () => Number(await left.getAttribute('data-left')) <= 60);
        assert(/保留 残り 0:\d\d/.test(await left.innerText()), `countdown after a minute: ${await left.innerText()}`);
        assert(await page.locator('#confirm-btn').isEnabled(), 'confirm is disabled while the offer holds');
        await shot(page, '16-operator-offer-countdown');
        await page.clock.fastForward(61000);
        await page.locator('#offer .card[data-expired="true"]').waitFor();
        assert(await page.locator('#confirm-btn').isDisabled(), 'confirm is enabled on an expired offer');
        assert((await card.innerText()).includes('期限切れ'), 'the expired offer is not marked 期限切れ');
        assert(englishWords(await page.locator('#global-msg').innerText()).length === 0, 'English in the expiry message');
        await shot(page, '17-operator-offer-expired');
        // Ask again: a new offer replaces it (the old seat is released).
        await page.click('#ask-again-btn');
        await waitFor('a new offer', async () => {
            const c = page.locator('#offer .card[data-booking][data-expired="false"]');
            return (await c.count()) === 1 && (await c.getAttribute('data-booking')) !== id;
        });
        await waitFor('the expired offer released', async () =>
            ['cancelled', 'expired'].includes((await apiGet(`/v1/bookings/${id}`)).status));
        assert(await page.locator('#confirm-btn').isEnabled(), 'confirm is disabled on the new offer');
        await page.locator('#decline-btn').click();
        await page.locator('#offer .card').waitFor({ state: 'detached' });
    },
    { needs: ['operator_console_loads'] },
);

test(
    'operator_bookings_any_day',
    async () => {
        const page = S.op2;
        const health = await (await fetch(`${BASE}/v1/health`)).json();
        const tomorrow = new Date(`${health.service_date}T12:00:00Z`);
        tomorrow.setUTCDate(tomorrow.getUTCDate() + 1);
        const day2 = tomorrow.toISOString().slice(0, 10);
        // A trip tomorrow, arriving by 10:00.
        await page.click('#date-tomorrow');
        assert((await page.locator('#date').inputValue()) === day2, 'the tomorrow button does not set tomorrow');
        await page.check('input[name=when][value=arrive_by]');
        await page.fill('#time', '10:00');
        await page.click('#offer-btn');
        const card = page.locator('#offer .card[data-booking]');
        await card.waitFor();
        const id = await card.getAttribute('data-booking');
        assert((await card.innerText()).includes('明日'), 'the offer does not say it is for tomorrow');
        await page.click('#confirm-btn');
        await page.locator(`#global-msg.ok[data-booking="${id}"]`).waitFor();
        // The list turns to the booked day; the row is in sight at 1280x800.
        await waitFor('the list of tomorrow', async () => (await page.locator('#bk-date').inputValue()) === day2);
        const row = page.locator(`#bookings tr[data-booking="${id}"]`);
        await row.waitFor();
        await waitFor("the rider's phone in the row", async () => (await row.innerText()).includes('0120-000-000'));
        const box = await row.boundingBox();
        assert(box && box.y + box.height <= 800, `the row is below the fold (${box && box.y + box.height})`);
        const scrollH = await page.evaluate(() => document.scrollingElement.scrollHeight);
        assert(scrollH <= 801, `the page scrolls (${scrollH} px high)`);
        const cells = await row.locator('td').allInnerTexts();
        const b = await apiGet(`/v1/bookings/${id}`);
        const hm = (iso) => /T(\d\d:\d\d)/.exec(iso)[1];
        assert(cells[0].includes(`${hm(b.pickup_from)}〜${hm(b.pickup_to)}`), `pickup window: ${cells[0]}`);
        assert(cells[1].includes(hm(b.planned_dropoff)), `drop-off: ${cells[1]}`);
        assert(cells[2].includes('10:00') && cells[2].includes('到着'), `target time: ${cells[2]}`);
        assert(cells[3].includes('乗合 花子'), `rider: ${cells[3]}`);
        assert(cells[5].includes('1名'), `party: ${cells[5]}`);
        const listText = await page.locator('#bookings-panel').innerText();
        assert(!/\b(bk|r|tk)_[0-9a-z]+|\bs\d{3}\b/.test(listText), 'an internal id is in the list');
        // The rider's panel: tomorrow's trip among the upcoming ones.
        await page.locator(`#rider-upcoming li[data-booking="${id}"]`).waitFor();
        // ... and today's finished or cancelled ones among the past.
        await page.locator('#rider-past li').first().waitFor();
        await shot(page, '18-operator-tomorrow');
        // Today one click away, and back.
        await page.click('#bk-today');
        await row.waitFor({ state: 'detached' });
        await page.click('#bk-tomorrow');
        await row.waitFor();
        await axeCheck(page, 'the operator console');
        await page.click('#lang');
        await waitFor('English', async () => (await page.locator('#bookings-panel thead').innerText()).includes('Pickup window'));
        await shot(page, '19-operator-tomorrow-en');
        await page.click('#lang');
        await page.context().close();
    },
    { needs: ['operator_offer_expires'] },
);

test('no_page_errors', async () => {
    assert(pageErrors.length === 0, `errors in the pages: ${pageErrors.join('; ')}`);
});

// ---------------------------------------------------------------------------

async function main() {
    S.channel = await probeDriverChannel();
    if (S.channel === 'absent') {
        console.log('e2e: the daemon has no driver channel yet (the upgrade answers 501): driver tests skipped');
    } else if (S.channel !== 'ok') {
        console.log(`e2e: the driver channel refuses the tablet's connection (${S.channel})`);
    }
    S.browser = await chromium.launch({
        executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-dev-shm-usage'], // root in a container: no sandbox, small /dev/shm
        headless: process.env.E2E_HEADED !== '1',
    });
    const passed = [];
    const failed = [];
    const skipped = [];
    console.log(`[==========] Running ${tests.length} test(s).`);
    for (const t of tests) {
        const missing = (t.needs || []).filter((n) => !passed.includes(n));
        if ((t.driver && S.channel === 'absent') || missing.length) {
            skipped.push(t.name);
            console.log(`[  SKIPPED ] ${t.name}${missing.length ? ` (needs ${missing.join(', ')})` : ''}`);
            continue;
        }
        console.log(`[ RUN      ] ${t.name}`);
        const t0 = Date.now();
        try {
            await t.fn();
            passed.push(t.name);
            console.log(`[       OK ] ${t.name} (${Date.now() - t0} ms)`);
        } catch (e) {
            failed.push(t.name);
            console.log(`[  ERROR   ] ${t.name}: ${e.message.split('\n')[0]}`);
            console.log(`[  FAILED  ] ${t.name}`);
            if (S.drv && !S.drv.isClosed()) {
                const info = await S.drv
                    .evaluate(() => `pending=${document.querySelector('#pending').dataset.count} notices=${document.querySelector('#notices').innerText}`)
                    .catch(() => '');
                console.log(`    driver page: ${info.replace(/\n/g, ' | ')}`);
            }
            for (const p of [S.op, S.drv]) {
                if (p && !p.isClosed()) {
                    await p.screenshot({ path: join(ART, `failed-${t.name}-${p === S.op ? 'operator' : 'driver'}.png`) }).catch(() => {});
                }
            }
        }
    }
    await S.browser.close();
    console.log(`[==========] ${tests.length} test(s) run.`);
    console.log(`[  PASSED  ] ${passed.length} test(s).`);
    if (skipped.length) {
        console.log(`[  SKIPPED ] ${skipped.length} test(s), listed below:`);
        for (const n of skipped) {
            console.log(`[  SKIPPED ] ${n}`);
        }
    }
    if (failed.length) {
        console.log(`[  FAILED  ] ${failed.length} test(s), listed below:`);
        for (const n of failed) {
            console.log(`[  FAILED  ] ${n}`);
        }
    }
    console.log(`e2e: screenshots in ${ART}`);
    return failed.length ? 1 : 0;
}

main().then(
    (rc) => process.exit(rc),
    async (e) => {
        console.log(`e2e: ${e.stack || e}`);
        console.log('[  FAILED  ] 1 test(s), listed below:');
        console.log('[  FAILED  ] e2e');
        if (S.browser) {
            await S.browser.close().catch(() => {});
        }
        process.exit(1);
    },
);
