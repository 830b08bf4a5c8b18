// driver/app.js - the driver's tablet: the van's next stops, pushed live
// over the driver channel, and big buttons to report what happens.
//
// Channel: a WebSocket to /v1/driver/ws carrying one protobuf message per
// binary frame (data/proto/driver.proto, embedded at build time as a JSON
// descriptor and decoded with protobufjs/light).  Browsers cannot set an
// Authorization header on a WebSocket, so the driver token goes in the
// "access_token" query parameter (RFC 6750 2.3, as the daemon takes it);
// the subprotocol asked for is noriai.driver.v1.  On every (re)connection the tablet sends Hello
// with the last route sequence number it holds; the daemon answers with
// the current route when the tablet is behind.  Each RouteUpdate replaces
// the whole route and is acknowledged with event_id "seq:<n>".
//
// Events (arrived, boarded, no-show, alighted, departed, breaks) get a
// client id (a UUID) and go into a queue kept in localStorage before they
// are sent; an event leaves the queue only when the daemon acknowledges its
// id.  After a drop the queue is sent again on the next connection (the
// daemon applies each id once), and a reload of the page loses nothing.
// Reconnection backs off exponentially (1 s to 30 s, with jitter); a silent
// connection (no frame for 70 s) is closed and re-opened.
//
// The route itself is kept in localStorage too, so the tablet still shows
// the stops while it is offline.  What the driver did at each stop is kept
// locally (marks) until the route no longer has the stop, so the buttons
// show what was already reported.  The daemon takes events for the first
// stop of the plan only: Arrived names the visit's first stop, Boarded /
// No-show / Alighted each rider.  A served stop leaves the route, so the
// place the van is at ("here": set by Arrived, cleared by Departed) is kept
// apart, with its own Departed button.
import protobuf from 'protobufjs/light';
import descriptor from 'driver-proto';
import { $, api, ApiError, el, hhmm, loadToken, saveToken, uuid } from '../common/api.js';
import * as i18n from '../common/i18n.js';

const { t } = i18n;
const APP_VERSION = 'noriai-web-driver/0.1';
const SUBPROTOCOL = 'noriai.driver.v1';

i18n.setup({
    title: { ja: '乗務員', en: 'Driver' },
    login_h: { ja: '乗務員トークン', en: 'Driver token' },
    login_help: { ja: '車両に割り当てられた乗務員トークンを入力してください。', en: "Enter the driver token of this van." },
    start: { ja: '開始', en: 'Start' },
    next_stops: { ja: '次の停留所', en: 'Next stops' },
    conn_on: { ja: '接続中', en: 'Online' },
    conn_off: { ja: 'オフライン', en: 'Offline' },
    conn_connecting: { ja: '接続しています…', en: 'Connecting…' },
    pending: { ja: '未送信 {n} 件', en: '{n} not sent yet' },
    updated: { ja: '経路 #{seq} {t}', en: 'Route #{seq} {t}' },
    k_pickup: { ja: '乗車', en: 'Pickup' },
    k_dropoff: { ja: '降車', en: 'Drop-off' },
    k_mixed: { ja: '乗車・降車', en: 'Pickup and drop-off' },
    k_break: { ja: '休憩', en: 'Break' },
    b_arrived: { ja: '到着', en: 'Arrived' },
    b_boarded: { ja: '乗車', en: 'Boarded' },
    b_no_show: { ja: '不在', en: 'No-show' },
    b_no_show_sure: { ja: '不在で確定？', en: 'Really no-show?' },
    b_alighted: { ja: '降車', en: 'Alighted' },
    b_departed: { ja: '出発', en: 'Departed' },
    b_break_start: { ja: '休憩開始', en: 'Start break' },
    b_break_end: { ja: '休憩終了', en: 'End break' },
    window: { ja: 'お迎え {a}〜{b}', en: 'pickup {a}–{b}' },
    pax: { ja: '{n} 名', en: '{n} pax' },
    wheelchair: { ja: '車いす {n}', en: 'wheelchair {n}' },
    no_stops: { ja: '予定されている停留所はありません', en: 'No stops planned' },
    no_route: { ja: '経路を受信していません', en: 'No route received yet' },
    new: { ja: '新規', en: 'NEW' },
    committed: { ja: '向かっています', en: 'en route' },
    here: { ja: '現在地: {stop}', en: 'At {stop}' },
    route_changed: { ja: '経路が更新されました', en: 'The route has changed' },
    cancelled: { ja: '取消: {who}（{reason}）', en: 'Cancelled: {who} ({reason})' },
    refused: { ja: '送信した報告が受け付けられませんでした: {error}', en: 'A report was refused: {error}' },
    not_driver: { ja: 'このトークンは乗務員用ではありません', en: 'This is not a driver token' },
});

// ---------------------------------------------------------------------------
// Protocol

const root = protobuf.Root.fromJSON(descriptor);
const ServerMessage = root.lookupType('noriai.driver.ServerMessage');
const TabletMessage = root.lookupType('noriai.driver.TabletMessage');
const TO_OBJECT = { longs: Number, enums: String, defaults: true, oneofs: true };

function encode(obj) {
    const err = TabletMessage.verify(obj);
    if (err) {
        throw new Error(`bad tablet message: ${err}`);
    }
    return TabletMessage.encode(TabletMessage.fromObject(obj)).finish();
}

function decode(buf) {
    return ServerMessage.toObject(ServerMessage.decode(new Uint8Array(buf)), TO_OBJECT);
}

// ---------------------------------------------------------------------------
// State (the route, the queue and the marks survive a reload)

const state = {
    token: loadToken('driver'),
    vehicle: localStorage.getItem('noriai.driver.vehicle') || '',
    route: null, // the last RouteUpdate as a plain object
    queue: [], // [{eventId, unixMs, kind, payload}]
    marks: {}, // stop key -> {arrived: true, ...}
    selected: null, // key of the visit shown large, null: the first one
    ws: null,
    connected: false,
    backoffMs: 1000,
    lastFrameMs: 0,
    reconnectTimer: 0,
    newUntil: new Map(), // stop key -> ms until it is marked new
    armed: null, // a no-show button waiting for its second tap
    here: null, // {stopId, stopName, bookingId}: where the van stands, until Departed
    known: new Map(), // booking id -> "name (pickup stop hh:mm)", for cancellations
    geoWatch: null,
    lastPosMs: 0,
};

const store = {
    key: (what) => `noriai.driver.${what}.${state.vehicle}`,
    load(what, dflt) {
        try {
            const v = localStorage.getItem(store.key(what));
            return v ? JSON.parse(v) : dflt;
        } catch {
            return dflt;
        }
    },
    save(what, v) {
        localStorage.setItem(store.key(what), JSON.stringify(v));
    },
};

function lastSeq() {
    return state.route ? Number(state.route.seq) || 0 : 0;
}

// A stop's identity across route updates.
function stopKey(s) {
    return s.kind === 'BREAK' ? `break|${s.bookingId || s.plannedS}` : `${s.bookingId}|${s.kind}`;
}

// ---------------------------------------------------------------------------
// Notices

function notice(text, kind, ms = 15000) {
    const n = el('div', { class: `notice ${kind || ''}` }, text);
    $('#notices').prepend(n);
    while ($('#notices').children.length > 3) {
        $('#notices').lastChild.remove();
    }
    setTimeout(() => n.remove(), ms);
}

function setConn(s) {
    const c = $('#conn');
    c.className = `conn ${s}`;
    c.textContent = t(`conn_${s}`);
    c.dataset.state = s;
}

function renderPending() {
    const n = state.queue.length;
    $('#pending').textContent = n ? t('pending', { n }) : '';
    $('#pending').dataset.count = String(n);
}

// ---------------------------------------------------------------------------
// The connection

function wsUrl() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/v1/driver/ws?access_token=${encodeURIComponent(state.token)}`;
}

function send(obj) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
        return false;
    }
    state.ws.send(encode(obj));
    return true;
}

function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.ws) {
        return;
    }
    setConn('connecting');
    let opened = false;
    const ws = new WebSocket(wsUrl(), [SUBPROTOCOL]);
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    ws.onopen = () => {
        opened = true;
        state.connected = true;
        state.lastFrameMs = Date.now();
        setConn('on');
        send({ unixMs: Date.now(), hello: { vehicleId: state.vehicle, lastSeq: lastSeq(), appVersion: APP_VERSION } });
        flushQueue(true);
    };
    ws.onmessage = (ev) => {
        state.lastFrameMs = Date.now();
        state.backoffMs = 1000;
        if (typeof ev.data === 'string') {
            return; // the channel is binary; text frames are not ours
        }
        let m;
        try {
            m = decode(ev.data);
        } catch (e) {
            console.warn('undecodable frame', e);
            return;
        }
        handle(m);
    };
    ws.onclose = (ev) => {
        if (state.ws === ws) {
            state.ws = null;
        }
        state.connected = false;
        setConn('off');
        if (!opened || ev.code === 1008 || ev.code === 4401 || ev.code === 4403) {
            checkToken();
        }
        scheduleReconnect();
    };
    ws.onerror = () => {};
}

function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    const ms = state.backoffMs * (0.8 + Math.random() * 0.4);
    state.backoffMs = Math.min(state.backoffMs * 2, 30000);
    state.reconnectTimer = setTimeout(connect, ms);
}

// Whether the token may open the driver channel: a plain GET of it (no
// Upgrade, which fetch may not send) is answered 426 for a driver's token,
// 403 for another role's, 401 for an unknown one.  0: no answer.
async function channelStatus() {
    try {
        const r = await fetch('/v1/driver/ws', { headers: { Authorization: `Bearer ${state.token}` }, cache: 'no-store' });
        return r.status;
    } catch {
        return 0;
    }
}

// A refused upgrade says nothing to the page: ask whether the token is
// still good for the channel, and go back to the login if not.
async function checkToken() {
    const st = await channelStatus();
    if (st === 401 || st === 403) {
        logout(st === 403 ? t('not_driver') : t('err_auth'));
    }
}

function handle(m) {
    if (m.route) {
        onRoute(m.route);
    } else if (m.cancellation) {
        onCancellation(m.cancellation);
    } else if (m.ack) {
        onAck(m.ack);
    }
    // keep-alives only refresh lastFrameMs
}

function onRoute(r) {
    const before = new Set((state.route ? state.route.stops : []).map(stopKey));
    const hadRoute = state.route !== null;
    state.route = r;
    store.save('route', r);
    const keys = new Set(r.stops.map(stopKey));
    for (const s of r.stops) {
        if (s.kind === 'PICKUP' && s.bookingId) {
            // A Cancellation comes after the update that removed the stops.
            const who = (s.rider && s.rider.name) || s.bookingId;
            state.known.set(s.bookingId, `${who}（${s.stopName || s.stopId} ${hhmm(s.plannedS)}）`);
        }
    }
    let changed = false;
    for (const s of r.stops) {
        const k = stopKey(s);
        if (!before.has(k)) {
            changed = true;
            if (hadRoute) {
                state.newUntil.set(k, Date.now() + 90000);
            }
        }
    }
    for (const k of Object.keys(state.marks)) {
        if (!keys.has(k)) {
            delete state.marks[k];
        }
    }
    store.save('marks', state.marks);
    if (state.selected && !r.stops.some((s) => stopKey(s) === state.selected)) {
        state.selected = null;
    }
    send({ eventId: `seq:${r.seq}`, unixMs: Date.now(), ack: { eventId: `seq:${r.seq}`, ok: true } });
    if (changed && hadRoute) {
        notice(t('route_changed'), 'good', 8000);
        if (navigator.vibrate) {
            navigator.vibrate(300);
        }
    }
    render();
}

function onCancellation(c) {
    const who = state.known.get(c.bookingId) || c.bookingId;
    notice(t('cancelled', { who, reason: c.reason || '-' }), 'bad', 30000);
}

function onAck(a) {
    const i = state.queue.findIndex((q) => q.eventId === a.eventId);
    if (i >= 0) {
        state.queue.splice(i, 1);
        store.save('queue', state.queue);
        renderPending();
    }
    if (!a.ok) {
        notice(t('refused', { error: a.error || '?' }), 'bad', 20000);
    }
}

// Sends every queued event not sent on this connection (all of them after
// a reconnect), oldest first.
function flushQueue(all) {
    const now = Date.now();
    for (const q of state.queue) {
        if (!all && q.sentMs && now - q.sentMs < 10000) {
            continue;
        }
        if (!send({ eventId: q.eventId, unixMs: q.unixMs, [q.kind]: q.payload })) {
            return;
        }
        q.sentMs = now;
    }
}

// Records an event, then sends it if the channel is up.
function report(kind, payload, markKeys, markName) {
    const ev = { eventId: uuid(), unixMs: Date.now(), kind, payload };
    state.queue.push(ev);
    store.save('queue', state.queue);
    for (const k of markKeys) {
        state.marks[k] = { ...(state.marks[k] || {}), [markName]: true };
    }
    store.save('marks', state.marks);
    renderPending();
    if (send({ eventId: ev.eventId, unixMs: ev.unixMs, [kind]: payload })) {
        ev.sentMs = Date.now();
    }
    render();
}

// ---------------------------------------------------------------------------
// Position (opt-in: a browser away from the service area must not move the van)

function setGps(on) {
    localStorage.setItem('noriai.driver.gps', on ? '1' : '0');
    if (state.geoWatch !== null) {
        navigator.geolocation.clearWatch(state.geoWatch);
        state.geoWatch = null;
    }
    if (!on || !navigator.geolocation) {
        return;
    }
    state.geoWatch = navigator.geolocation.watchPosition(
        (p) => {
            if (Date.now() - state.lastPosMs < 15000) {
                return;
            }
            state.lastPosMs = Date.now();
            send({
                unixMs: p.timestamp || Date.now(),
                position: {
                    lat: p.coords.latitude,
                    lon: p.coords.longitude,
                    speedMps: p.coords.speed || 0,
                    headingDeg: p.coords.heading || 0,
                    unixMs: p.timestamp || Date.now(),
                },
            });
        },
        () => {},
        { enableHighAccuracy: true, maximumAge: 10000 },
    );
}

// ---------------------------------------------------------------------------
// Drawing

// Consecutive stops at the same place are one visit: one Arrived and one
// Departed for the place, Boarded / No-show / Alighted for each rider.
function visits() {
    const out = [];
    for (const s of state.route ? state.route.stops : []) {
        const last = out[out.length - 1];
        if (last && s.kind !== 'BREAK' && last.stops[0].kind !== 'BREAK' && last.stops[0].stopId === s.stopId) {
            last.stops.push(s);
        } else {
            out.push({ key: stopKey(s), stops: [s] });
        }
    }
    return out.filter((v) => !v.stops.every((s) => (state.marks[stopKey(s)] || {}).departed));
}

function mark(s) {
    return state.marks[stopKey(s)] || {};
}

function needsText(rd) {
    const parts = [];
    if (rd.wheelchairs) {
        parts.push(t('wheelchair', { n: rd.wheelchairs }));
    }
    if (rd.needs) {
        parts.push(rd.needs);
    }
    return parts.join(' · ');
}

// done: reported already (greyed, with a tick); off: not possible yet.
function bigButton(cls, label, done, onclick, off) {
    return el(
        'button',
        { type: 'button', class: done ? `${cls} done` : cls, disabled: done || off, onclick, dataset: { action: cls } },
        done ? `✓ ${label}` : label,
    );
}

function kindLabel(v) {
    const kinds = new Set(v.stops.map((s) => s.kind));
    if (kinds.has('BREAK')) {
        return t('k_break');
    }
    if (kinds.size > 1) {
        return t('k_mixed');
    }
    return kinds.has('PICKUP') ? t('k_pickup') : t('k_dropoff');
}

function setHere(h) {
    state.here = h;
    store.save('here', h);
}

// Departed from where the van stands (or, when the tablet does not know,
// from the current visit's place).
function depart(keys) {
    const h = state.here;
    setHere(null);
    // Only the place: the booking served there may have finished already.
    report('departed', h ? { stopId: h.stopId } : {}, keys || [], 'departed');
}

// "At <stop> [Departed]" while the van stands at a place whose stops have
// already left the route (all riders boarded or alighted there).
function hereBar(v) {
    const h = state.here;
    if (!h || (v && v.stops[0].stopId === h.stopId)) {
        return null;
    }
    return el(
        'div',
        { class: 'here', id: 'here' },
        el('span', {}, t('here', { stop: h.stopName || h.stopId })),
        bigButton('departed', t('b_departed'), false, () => depart([])),
    );
}

function renderCurrent(v) {
    const box = $('#current');
    if (!v) {
        // Nowhere to drive to: no Departed either (the daemon would refuse it).
        box.replaceChildren(el('div', { class: 'empty' }, state.route ? t('no_stops') : t('no_route')));
        return;
    }
    const first = v.stops[0];
    const keys = v.stops.map(stopKey);
    const isBreak = first.kind === 'BREAK';
    const arrived = v.stops.every((s) => mark(s).arrived) || (state.here && state.here.stopId === first.stopId);
    const departed = v.stops.every((s) => mark(s).departed);
    const pick = v.stops.find((s) => s.kind === 'PICKUP');
    const riders = el('div', { class: 'riders' });
    for (const s of v.stops) {
        if (isBreak || !s.rider) {
            continue;
        }
        const rd = s.rider;
        const m = mark(s);
        const done = m.boarded || m.no_show || m.alighted;
        // Reporting a rider says the van is at the stop (the daemon takes it so).
        const at = () => {
            if (!state.here || state.here.stopId !== s.stopId) {
                setHere({ stopId: s.stopId, stopName: s.stopName, bookingId: s.bookingId });
            }
        };
        const btns = el('div', { class: 'bigbtns' });
        if (s.kind === 'PICKUP') {
            btns.append(
                bigButton('boarded', t('b_boarded'), m.boarded, () => {
                    at();
                    report('boarded', { bookingId: s.bookingId }, [stopKey(s)], 'boarded');
                }),
                noShowButton(s, m, at),
            );
        } else {
            btns.append(bigButton('alighted', t('b_alighted'), m.alighted, () => {
                at();
                report('alighted', { bookingId: s.bookingId }, [stopKey(s)], 'alighted');
            }));
        }
        riders.append(
            el(
                'div',
                { class: `rider ${s.kind === 'PICKUP' ? 'pickup' : 'dropoff'} ${done ? 'done' : ''}`, dataset: { booking: s.bookingId } },
                el('div', { class: 'who' }, `${s.kind === 'PICKUP' ? '▲' : '▼'} ${rd.name || rd.riderId || s.bookingId}`, rd.nameKana ? el('small', {}, `（${rd.nameKana}）`) : null),
                el('div', {}, t('pax', { n: rd.passengers || 1 }), rd.phone ? ` · ☎ ${rd.phone}` : ''),
                needsText(rd) ? el('div', { class: 'needs' }, needsText(rd)) : null,
                rd.notes ? el('div', { class: 'muted' }, rd.notes) : null,
                btns,
            ),
        );
    }
    const arrive = () => {
        setHere({ stopId: first.stopId, stopName: first.stopName, bookingId: first.bookingId });
        report('arrived', { bookingId: first.bookingId, stopId: first.stopId }, keys, 'arrived');
    };
    const visitBtns = el('div', { class: 'bigbtns' });
    if (isBreak) {
        const m = mark(first);
        visitBtns.append(
            bigButton('arrived', t('b_break_start'), m.breakStart, () => {
                setHere({ stopId: first.stopId, stopName: first.stopName, bookingId: first.bookingId });
                report('breakStart', { bookingId: first.bookingId }, keys, 'breakStart');
            }),
            bigButton('departed', t('b_break_end'), m.departed, () => report('breakEnd', { bookingId: first.bookingId }, keys, 'departed'), !m.breakStart),
        );
    } else {
        visitBtns.append(bigButton('arrived', t('b_arrived'), arrived, arrive), bigButton('departed', t('b_departed'), departed, () => depart(keys), !arrived));
    }
    box.replaceChildren(
        ...[hereBar(v)].filter(Boolean),
        el('div', { class: 'kind' }, kindLabel(v), first.committed ? el('span', { class: 'badge committed' }, t('committed')) : null),
        el('div', { class: 'stopname', id: 'current-stop', dataset: { stop: first.stopId } }, first.stopName || first.stopId),
        el(
            'div',
            { class: 'when' },
            hhmm(first.plannedS),
            pick && pick.windowToS ? el('small', {}, `  ${t('window', { a: hhmm(pick.windowFromS), b: hhmm(pick.windowToS) })}`) : null,
            isBreak ? el('small', {}, `  ${Math.round(first.serviceS / 60)} min`) : null,
        ),
        visitBtns,
        riders,
    );
}

function noShowButton(s, m, at) {
    const b = bigButton('noshow', t('b_no_show'), m.no_show, () => {
        if (state.armed !== s.bookingId) {
            // First tap arms the button; a second tap within 4 s reports.
            state.armed = s.bookingId;
            b.textContent = t('b_no_show_sure');
            setTimeout(() => {
                if (state.armed === s.bookingId) {
                    state.armed = null;
                    render();
                }
            }, 4000);
            return;
        }
        state.armed = null;
        at();
        report('noShow', { bookingId: s.bookingId }, [stopKey(s)], 'no_show');
    });
    if (state.armed === s.bookingId && !m.no_show) {
        b.textContent = t('b_no_show_sure');
    }
    return b;
}

// Redraws when what is shown changed, and only then: a tap whose press
// and release land on two different copies of a button is no click, so
// a needless redraw under the driver's finger would swallow it.
let shown = '';

function render() {
    const vs = visits();
    let cur = vs.find((v) => v.key === state.selected) || vs[0] || null;
    if (cur && state.selected && cur.key !== state.selected) {
        state.selected = null;
    }
    const now = Date.now();
    const fresh = [...state.newUntil].filter(([, until]) => until > now).map(([k]) => k);
    const sig = JSON.stringify([i18n.getLang(), state.route, state.marks, state.here, state.selected, state.armed, fresh]);
    if (sig === shown) {
        return;
    }
    shown = sig;
    renderCurrent(cur);
    const list = $('#stops');
    list.replaceChildren(
        ...vs.map((v) => {
            const first = v.stops[0];
            const kind = first.kind === 'BREAK' ? 'break' : first.kind === 'PICKUP' ? 'pickup' : 'dropoff';
            const isNew = v.stops.some((s) => (state.newUntil.get(stopKey(s)) || 0) > now);
            const wc = v.stops.reduce((n, s) => n + ((s.rider && s.rider.wheelchairs) || 0), 0);
            const li = el(
                'li',
                {
                    class: `${kind} ${cur && v.key === cur.key ? 'selected' : ''}`,
                    tabindex: 0,
                    dataset: { stop: first.stopId, bookings: v.stops.map((s) => s.bookingId).join(' ') },
                    onclick: () => {
                        state.selected = v.key;
                        render();
                    },
                },
                el('span', { class: 't' }, hhmm(first.plannedS)),
                el(
                    'span',
                    { class: 'n' },
                    first.kind === 'BREAK' ? t('k_break') : first.stopName || first.stopId,
                    isNew ? el('span', { class: 'badge new' }, t('new')) : null,
                    wc ? el('span', { class: 'badge wc' }, `♿${wc}`) : null,
                ),
                first.kind === 'BREAK'
                    ? null
                    : el(
                          'span',
                          { class: 'r' },
                          v.stops.map((s) => `${s.kind === 'PICKUP' ? '▲' : '▼'} ${(s.rider && s.rider.name) || s.bookingId}`).join('  '),
                      ),
            );
            return li;
        }),
    );
    if (state.route) {
        const g = state.route.generatedS;
        $('#updated').textContent = t('updated', { seq: state.route.seq, t: g ? hhmm(g) : '' });
        $('#updated').dataset.seq = String(state.route.seq);
    }
}

// ---------------------------------------------------------------------------
// Start

function logout(msg) {
    if (state.ws) {
        const ws = state.ws;
        state.ws = null;
        ws.onclose = null;
        ws.close();
    }
    clearTimeout(state.reconnectTimer);
    saveToken('driver', '');
    state.token = '';
    setConn('off');
    $('#work').classList.add('hidden');
    $('#login').classList.remove('hidden');
    $('#login-msg').textContent = msg || '';
    $('#token').focus();
}

async function start() {
    if (!state.token) {
        logout('');
        return;
    }
    $('#login').classList.add('hidden');
    $('#work').classList.remove('hidden');
    try {
        const r = await api(state.token, '/v1/vehicles');
        const v = (r.vehicles || [])[0];
        if (!v || (r.vehicles || []).length !== 1) {
            logout(t('not_driver'));
            return;
        }
        const st = await channelStatus();
        if (st === 401 || st === 403) {
            logout(st === 403 ? t('not_driver') : t('err_auth'));
            return;
        }
        if (v.id !== state.vehicle) {
            state.vehicle = v.id;
            localStorage.setItem('noriai.driver.vehicle', v.id);
        }
    } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
            logout(t('err_auth'));
            return;
        }
        if (!state.vehicle) {
            // Offline at the very first start: try again shortly.
            setConn('off');
            setTimeout(start, 3000);
            return;
        }
    }
    $('#vehicle').textContent = state.vehicle;
    state.route = store.load('route', null);
    state.queue = store.load('queue', []);
    state.marks = store.load('marks', {});
    state.here = store.load('here', null);
    renderPending();
    render();
    connect();
}

function wire() {
    $('#lang').addEventListener('click', () => i18n.toggleLang());
    i18n.onLangChange(() => {
        setConn(state.connected ? 'on' : state.ws ? 'connecting' : 'off');
        renderPending();
        render();
    });
    $('#logout').addEventListener('click', () => logout(''));
    $('#token-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        state.token = $('#token').value.trim();
        saveToken('driver', state.token);
        start();
    });
    $('#gps').checked = localStorage.getItem('noriai.driver.gps') === '1';
    $('#gps').addEventListener('change', () => setGps($('#gps').checked));
    setGps($('#gps').checked);
    window.addEventListener('online', () => {
        if (!state.ws && state.token) {
            state.backoffMs = 1000;
            connect();
        }
    });
    // Keep-alive, watchdog and re-sends of events still not acknowledged.
    setInterval(() => {
        if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
            return;
        }
        if (Date.now() - state.lastFrameMs > 70000) {
            state.ws.close();
            return;
        }
        send({ unixMs: Date.now(), keepalive: { unixMs: Date.now() } });
        flushQueue(false);
    }, 20000);
    setInterval(() => {
        if (state.queue.length && state.connected) {
            flushQueue(false);
        }
        // "New" marks fade after their time.
        let expired = false;
        for (const [k, until] of state.newUntil) {
            if (until <= Date.now()) {
                state.newUntil.delete(k);
                expired = true;
            }
        }
        if (expired) {
            render();
        }
    }, 10000);
    // A tablet on the dashboard: keep the screen on while the page is shown.
    if (navigator.wakeLock) {
        const lock = () => navigator.wakeLock.request('screen').catch(() => {});
        lock();
        document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && lock());
    }
}

wire();
start();
