// operator/app.js - the operator console: a phone booking in under a minute.
//
// Flow: find the caller (phone digits or name in kanji/kana) or register
// them; pick the pickup and drop-off stops by name or on the map; choose
// "now", "depart after" or "arrive by"; Offer asks the daemon for a booking
// (POST /v1/bookings, one Idempotency-Key per request, so a double click or
// a retry after a lost answer books once); the answer is either an offered
// window to confirm or decline, or alternatives (409) to ask again with.
// Today's bookings are listed below and refreshed every few seconds.
//
// State lives in this module; the DOM is rebuilt from it by small render
// functions.  Every form submits with Enter; the tab order follows the
// call; Alt+key shortcuts (shown next to what they reach) are handled here
// rather than by accesskey, which browsers map differently (and which a
// Japanese input method may eat): the key is taken from its position
// (KeyboardEvent.code), so it works with any layout.
import { $, allBookings, api, ApiError, el, hhmm, loadToken, query, saveToken, uuid } from '../common/api.js';
import * as i18n from '../common/i18n.js';
import { AreaMap } from '../common/svgmap.js';

const { t } = i18n;

i18n.setup({
    title: { ja: 'オペレーター画面', en: 'Operator console' },
    h_rider: { ja: '1. 利用者', en: '1. Rider' },
    h_trip: { ja: '2. 乗車・降車', en: '2. Pickup and drop-off' },
    h_time: { ja: '3. 日時・人数', en: '3. Time and party' },
    h_bookings: { ja: '予約一覧', en: 'Bookings' },
    rider_q_ph: { ja: '電話番号 または 氏名・かな', en: 'Phone or name (kanji/kana)' },
    search: { ja: '検索', en: 'Search' },
    new_rider: { ja: '新規登録', en: 'Register a new rider' },
    f_name: { ja: '氏名', en: 'Name' },
    f_kana: { ja: 'ふりがな', en: 'Kana' },
    f_phone: { ja: '電話', en: 'Phone' },
    f_home: { ja: '自宅最寄り停留所', en: 'Home stop' },
    f_wheelchair: { ja: '車いす利用', en: 'Uses a wheelchair' },
    f_mobility: { ja: '介助・配慮', en: 'Mobility needs' },
    mobility_ph: { ja: '例: 杖、介助者同伴', en: 'e.g. cane, escort' },
    f_notes: { ja: 'メモ', en: 'Notes' },
    register: { ja: '登録', en: 'Register' },
    stop_q_ph: { ja: '停留所名', en: 'Stop name' },
    pickup: { ja: '乗車', en: 'Pickup' },
    dropoff: { ja: '降車', en: 'Drop-off' },
    map_sets: { ja: '地図のクリックで設定:', en: 'Map click sets:' },
    map_aria: { ja: '停留所の地図', en: 'Map of the stops' },
    swap: { ja: '入れ替え', en: 'Swap' },
    w_asap: { ja: '今すぐ', en: 'Now' },
    w_depart: { ja: '出発時刻指定', en: 'Depart after' },
    w_arrive: { ja: '到着時刻指定', en: 'Arrive by' },
    date: { ja: '日付', en: 'Date' },
    time: { ja: '時刻', en: 'Time' },
    today: { ja: '今日', en: 'today' },
    tomorrow: { ja: '明日', en: 'tomorrow' },
    passengers: { ja: '人数', en: 'Passengers' },
    wheelchairs: { ja: '車いす', en: 'Wheelchairs' },
    offer: { ja: '空き確認', en: 'Offer' },
    confirm: { ja: '予約確定', en: 'Confirm' },
    decline: { ja: '見送り', en: 'Decline' },
    show_finished: { ja: '終了・取消も表示', en: 'Show finished and cancelled' },
    col_pickup_time: { ja: '乗車時刻', en: 'Pickup' },
    col_rider: { ja: '利用者', en: 'Rider' },
    col_route: { ja: '区間', en: 'From → to' },
    col_pax: { ja: '人数', en: 'Pax' },
    col_status: { ja: '状態', en: 'Status' },
    col_vehicle: { ja: '車両', en: 'Van' },
    cancel: { ja: '取消', en: 'Cancel' },
    cancel_q: { ja: '{name} の予約を取り消しますか？', en: 'Cancel the booking of {name}?' },
    no_token: {
        ja: 'オペレーターのトークンを右上に入力してください。',
        en: 'Enter an operator token (top right).',
    },
    no_riders: { ja: '該当する利用者はいません。新規登録できます。', en: 'No rider found. Register the caller below.' },
    pick_rider_first: { ja: '先に利用者を選んでください。', en: 'Choose the rider first.' },
    pick_stops_first: { ja: '乗車と降車の停留所を選んでください。', en: 'Choose the pickup and drop-off stops.' },
    time_needed: { ja: '時刻を入力してください。', en: 'Enter the time.' },
    no_stops: { ja: '該当する停留所はありません。', en: 'No such stop.' },
    offer_head: { ja: 'ご提案', en: 'Offer' },
    offer_pickup: { ja: '{stop} で {from}〜{to} の間にお迎え', en: 'Pickup at {stop} between {from} and {to}' },
    offer_drop: { ja: '{stop} 到着 {eta} ごろ（遅くとも {latest}）', en: 'Arrives at {stop} about {eta} (by {latest} at the latest)' },
    offer_van: { ja: '車両 {van}', en: 'Van {van}' },
    offer_expires: { ja: '{t} までに確定してください', en: 'Confirm by {t}' },
    alt_head: {
        ja: 'ご希望の時刻には空きがありません（{reason}）。次の時刻なら可能です:',
        en: 'No van can take this trip ({reason}). These times fit:',
    },
    alt_none: { ja: 'ご希望の時刻には空きがありません（{reason}）。', en: 'No van can take this trip ({reason}).' },
    alt_item: { ja: '{from}〜{to} お迎え、{eta} ごろ到着', en: 'Pickup {from}–{to}, arrives about {eta}' },
    confirmed_msg: { ja: '予約を確定しました（{id}）。', en: 'Booking confirmed ({id}).' },
    declined_msg: { ja: '提案を見送りました。', en: 'Offer declined.' },
    registered_msg: { ja: '{name} さんを登録しました。', en: '{name} is registered.' },
    cancelled_msg: { ja: '予約を取り消しました。', en: 'Booking cancelled.' },
    wheelchair_user: { ja: '車いす', en: 'wheelchair' },
    home: { ja: '自宅', en: 'home' },
    updated: { ja: '{t} 更新', en: 'updated {t}' },
    rider_tag: { ja: '利用者: {name}', en: 'Rider: {name}' },
});

const state = {
    token: loadToken('operator'),
    today: '',
    clockOffsetMs: 0,
    zoneMin: 540,
    stops: [],
    stopById: new Map(),
    map: null,
    rider: null,
    riders: new Map(), // id -> rider or a pending promise
    pickup: null,
    dropoff: null,
    homeStop: null,
    offer: null, // the offered booking
    offerKey: '', // Idempotency-Key of the pending offer request
    bookings: [],
    updatedAt: '', // service clock of the last refresh of the list
};

// ---------------------------------------------------------------------------
// Messages and errors

function say(text, kind) {
    const m = $('#global-msg');
    m.textContent = text || '';
    m.className = `msg banner ${kind || ''}`;
}

function errText(e) {
    if (e instanceof ApiError) {
        if (e.status === 0) {
            return t('err_network');
        }
        if (e.status === 401) {
            return t('err_auth');
        }
    }
    return e.message || String(e);
}

function fail(e) {
    say(errText(e), 'error');
}

const call = (path, opts) => api(state.token, path, opts);

// ---------------------------------------------------------------------------
// Clock and service day

function nowHHMM() {
    const ms = Date.now() + state.clockOffsetMs + state.zoneMin * 60000;
    const d = new Date(ms);
    return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

async function loadHealth() {
    const h = await api('', '/v1/health');
    state.today = h.service_date;
    const m = /([+-])(\d\d):(\d\d)$/.exec(h.now || '');
    state.zoneMin = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    const serverMs = Date.parse(h.now);
    if (!Number.isNaN(serverMs)) {
        state.clockOffsetMs = serverMs - Date.now();
    }
    renderDates();
}

function addDays(date, n) {
    const d = new Date(`${date}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

function renderDates() {
    const sel = $('#date');
    const cur = sel.value;
    sel.replaceChildren(
        el('option', { value: state.today }, `${state.today} (${t('today')})`),
        el('option', { value: addDays(state.today, 1) }, `${addDays(state.today, 1)} (${t('tomorrow')})`),
    );
    if (cur) {
        sel.value = cur;
    }
    $('#bk-date').textContent = state.today;
}

function tickClock() {
    $('#clock').textContent = state.today ? `${state.today} ${nowHHMM()}` : '';
}

// ---------------------------------------------------------------------------
// Stops and the map

function stopLabel(s) {
    return i18n.stopName(s);
}

async function loadStops() {
    const r = await call('/v1/stops?limit=1000');
    state.stops = r.stops || [];
    state.stopById = new Map(state.stops.map((s) => [s.id, s]));
    state.map = new AreaMap($('#map'), state.stops);
    state.map.drawStops(stopLabel, (s) => {
        const which = document.querySelector('input[name=mapfor]:checked').value;
        choose(which, s);
    });
    renderChosen();
}

function choose(which, stop) {
    state[which] = stop;
    $(`#${which}-results`).replaceChildren();
    if (which === 'pickup' && !state.dropoff) {
        document.querySelector('input[name=mapfor][value=dropoff]').checked = true;
    }
    clearOffer();
    renderChosen();
}

function renderChosen() {
    for (const which of ['pickup', 'dropoff']) {
        const s = state[which];
        $(`#${which}-chosen`).textContent = s ? `${stopLabel(s)} (${s.id})` : '';
    }
    if (!state.map) {
        return;
    }
    const marks = [];
    if (state.rider && state.rider.home_stop_id) {
        marks.push({ stopId: state.rider.home_stop_id, cls: 'home', label: '' });
    }
    if (state.pickup) {
        marks.push({ stopId: state.pickup.id, cls: 'pickup', label: `${t('pickup')}: ${stopLabel(state.pickup)}` });
    }
    if (state.dropoff) {
        marks.push({ stopId: state.dropoff.id, cls: 'dropoff', label: `${t('dropoff')}: ${stopLabel(state.dropoff)}` });
    }
    state.map.mark(marks);
}

// Search stops by name through the API; one result is chosen at once,
// several are listed as buttons (Tab to them, Enter picks).
async function searchStops(q, listEl, onPick) {
    listEl.replaceChildren();
    if (!q.trim()) {
        return;
    }
    const r = await call(query('/v1/stops', { q: q.trim(), limit: 30 }));
    const stops = (r.stops || []).filter((s) => s.kind !== 'depot');
    if (stops.length === 1) {
        onPick(stops[0]);
        return;
    }
    if (stops.length === 0) {
        listEl.append(el('li', { class: 'muted' }, t('no_stops')));
        return;
    }
    for (const s of stops) {
        listEl.append(el('li', {}, el('button', { type: 'button', onclick: () => onPick(s) }, `${stopLabel(s)} (${s.id})`)));
    }
    listEl.querySelector('button').focus();
}

// ---------------------------------------------------------------------------
// Riders

function riderLine(r) {
    const parts = [r.name];
    if (r.name_kana) {
        parts.push(`（${r.name_kana}）`);
    }
    if (r.phone) {
        parts.push(` ${r.phone}`);
    }
    return parts.join('');
}

async function searchRiders(q) {
    const list = $('#rider-results');
    list.replaceChildren();
    q = q.trim();
    if (!q) {
        return;
    }
    const digits = q.replace(/[^0-9０-９]/g, '');
    const byPhone = digits.length >= 3 && /^[0-9０-９\-－()（）+\s]+$/.test(q);
    const r = await call(query('/v1/riders', byPhone ? { phone: digits.replace(/[０-９]/g, (c) => String(c.charCodeAt(0) - 0xff10)) } : { name: q }));
    const riders = r.riders || [];
    if (riders.length === 0) {
        list.append(el('li', { class: 'muted' }, t('no_riders')));
        $('#rider-new').open = true;
        if (byPhone) {
            $('#rf-phone').value = q;
        } else {
            $('#rf-name').value = q;
        }
        return;
    }
    for (const rd of riders) {
        state.riders.set(rd.id, rd);
        list.append(
            el('li', {}, el('button', { type: 'button', dataset: { rider: rd.id }, onclick: () => selectRider(rd) }, riderLine(rd))),
        );
    }
    if (riders.length === 1) {
        selectRider(riders[0]);
    } else {
        list.querySelector('button').focus();
    }
}

function selectRider(r) {
    state.rider = r;
    state.riders.set(r.id, r);
    $('#rider-results').replaceChildren();
    if (r.home_stop_id && !state.pickup && state.stopById.has(r.home_stop_id)) {
        state.pickup = state.stopById.get(r.home_stop_id);
        document.querySelector('input[name=mapfor][value=dropoff]').checked = true;
    }
    // A new caller: the party starts as the rider alone, in a wheelchair
    // if the rider uses one.
    $('#passengers').value = 1;
    $('#wheelchairs').value = r.wheelchair ? 1 : 0;
    clearOffer();
    renderRider();
    renderChosen();
    $('#pickup-q').focus();
}

function renderRider() {
    const box = $('#rider-selected');
    const r = state.rider;
    if (!r) {
        box.replaceChildren();
        return;
    }
    const needs = [];
    if (r.wheelchair) {
        needs.push(t('wheelchair_user'));
    }
    if (r.mobility) {
        needs.push(r.mobility);
    }
    const home = r.home_stop_id && state.stopById.get(r.home_stop_id);
    box.replaceChildren(
        el(
            'div',
            { class: 'card', id: 'rider-card', dataset: { rider: r.id } },
            el('div', { class: 'name' }, r.name),
            r.name_kana ? el('div', {}, r.name_kana) : null,
            el('div', {}, `${r.phone || ''} · ${r.id}`),
            home ? el('div', {}, `${t('home')}: ${stopLabel(home)}`) : null,
            needs.length ? el('div', { class: 'needs' }, needs.join(' · ')) : null,
            r.notes ? el('div', { class: 'muted' }, r.notes) : null,
        ),
    );
}

async function registerRider(ev) {
    ev.preventDefault();
    const body = { name: $('#rf-name').value.trim() };
    const opt = { name_kana: '#rf-kana', phone: '#rf-phone', mobility: '#rf-mobility', notes: '#rf-notes' };
    for (const [k, sel] of Object.entries(opt)) {
        const v = $(sel).value.trim();
        if (v) {
            body[k] = v;
        }
    }
    if (state.homeStop) {
        body.home_stop_id = state.homeStop.id;
    }
    body.wheelchair = $('#rf-wheelchair').checked;
    try {
        const r = await call('/v1/riders', { method: 'POST', body, idempotencyKey: uuid() });
        say(t('registered_msg', { name: r.name }), 'ok');
        $('#rider-form').reset();
        state.homeStop = null;
        $('#rf-home').textContent = '';
        $('#rider-new').open = false;
        selectRider(r);
    } catch (e) {
        fail(e);
    }
}

// Riders' names for the bookings list, fetched once per id.
function riderName(id) {
    if (!id) {
        return '';
    }
    const r = state.riders.get(id);
    if (r && r.name) {
        return r.name;
    }
    if (!r) {
        state.riders.set(
            id,
            call(`/v1/riders/${encodeURIComponent(id)}`)
                .then((x) => {
                    state.riders.set(id, x);
                    renderBookings();
                })
                .catch(() => state.riders.set(id, { id, name: id })),
        );
    }
    return id;
}

// ---------------------------------------------------------------------------
// Offers

function whenKind() {
    return document.querySelector('input[name=when]:checked').value;
}

function clearOffer() {
    state.offer = null;
    state.offerKey = '';
    $('#offer').replaceChildren();
}

function tripBody(override) {
    const body = {
        rider_id: state.rider.id,
        pickup: { stop_id: state.pickup.id },
        dropoff: { stop_id: state.dropoff.id },
        when: whenKind(),
        date: $('#date').value || state.today,
        passengers: Number($('#passengers').value) || 1,
        wheelchairs: Number($('#wheelchairs').value) || 0,
    };
    if (body.when !== 'asap') {
        body.time = $('#time').value;
    }
    const notes = $('#trip-notes').value.trim();
    if (notes) {
        body.notes = notes;
    }
    return Object.assign(body, override || {});
}

async function requestOffer(override) {
    if (!state.rider) {
        say(t('pick_rider_first'), 'error');
        $('#rider-q').focus();
        return;
    }
    if (!state.pickup || !state.dropoff) {
        say(t('pick_stops_first'), 'error');
        (state.pickup ? $('#dropoff-q') : $('#pickup-q')).focus();
        return;
    }
    const body = tripBody(override);
    if (body.when !== 'asap' && !body.time) {
        say(t('time_needed'), 'error');
        $('#time').focus();
        return;
    }
    if (state.offer && state.offer.status === 'offered') {
        // A new request replaces the pending offer: release the seat first.
        decline(true);
    }
    // One key per distinct request: a retry of the same click books once.
    state.offerKey = uuid();
    $('#offer-btn').disabled = true;
    say('');
    try {
        const b = await call('/v1/bookings', { method: 'POST', body, idempotencyKey: state.offerKey });
        state.offer = b;
        renderOffer();
        refreshBookings();
    } catch (e) {
        if (e.status === 409 && e.code === 'no_availability') {
            renderAlternatives(e.body.error, body);
        } else {
            fail(e);
        }
    } finally {
        $('#offer-btn').disabled = false;
    }
}

function renderOffer() {
    const b = state.offer;
    const confirmBtn = el('button', { type: 'button', id: 'confirm-btn', onclick: confirmOffer }, t('confirm'), ' ', el('kbd', {}, 'Alt+C'));
    $('#offer').replaceChildren(
        el(
            'div',
            { class: 'card', dataset: { booking: b.id } },
            el('h3', {}, t('offer_head')),
            el('div', { class: 'big' }, `${hhmm(b.pickup_from)}〜${hhmm(b.pickup_to)}`),
            el('div', {}, t('offer_pickup', { stop: i18n.stopName(b.pickup), from: hhmm(b.pickup_from), to: hhmm(b.pickup_to) })),
            el('div', {}, t('offer_drop', { stop: i18n.stopName(b.dropoff), eta: hhmm(b.planned_dropoff), latest: hhmm(b.latest_dropoff) })),
            b.vehicle_id ? el('div', { class: 'muted' }, t('offer_van', { van: b.vehicle_id })) : null,
            b.expires ? el('div', { class: 'muted' }, t('offer_expires', { t: hhmm(b.expires) })) : null,
            el('div', { class: 'row' }, confirmBtn, el('button', { type: 'button', class: 'secondary', onclick: () => decline(false) }, t('decline'))),
        ),
    );
    confirmBtn.focus();
}

function renderAlternatives(err, body) {
    const alts = err.alternatives || [];
    const card = el(
        'div',
        { class: 'card alts' },
        el('div', {}, t(alts.length ? 'alt_head' : 'alt_none', { reason: err.reason || '' })),
    );
    for (const a of alts) {
        card.append(
            el(
                'button',
                {
                    type: 'button',
                    class: 'secondary',
                    onclick: () => {
                        // Ask again for this time: depart after its window opens.
                        document.querySelector('input[name=when][value=depart_after]').checked = true;
                        $('#time').disabled = false;
                        $('#time').value = hhmm(a.pickup_from);
                        requestOffer({ when: 'depart_after', time: hhmm(a.pickup_from), date: body.date });
                    },
                },
                t('alt_item', { from: hhmm(a.pickup_from), to: hhmm(a.pickup_to), eta: hhmm(a.planned_dropoff) }),
            ),
        );
    }
    $('#offer').replaceChildren(card);
    const first = card.querySelector('button');
    if (first) {
        first.focus();
    }
}

async function confirmOffer() {
    const b = state.offer;
    if (!b) {
        return;
    }
    try {
        const r = await call(`/v1/bookings/${encodeURIComponent(b.id)}/confirm`, { method: 'POST', idempotencyKey: uuid() });
        say(t('confirmed_msg', { id: r.id }), 'ok');
        clearOffer();
        // Ready for the next call: the rider stays, the trip is cleared.
        state.pickup = null;
        state.dropoff = null;
        document.querySelector('input[name=mapfor][value=pickup]').checked = true;
        $('#pickup-q').value = '';
        $('#dropoff-q').value = '';
        renderChosen();
        refreshBookings();
    } catch (e) {
        fail(e);
    }
}

async function decline(quiet) {
    const b = state.offer;
    clearOffer();
    if (!b) {
        return;
    }
    try {
        await call(`/v1/bookings/${encodeURIComponent(b.id)}/cancel`, { method: 'POST', body: { reason: 'declined' }, idempotencyKey: uuid() });
        if (!quiet) {
            say(t('declined_msg'), 'ok');
        }
        refreshBookings();
    } catch (e) {
        fail(e);
    }
}

// ---------------------------------------------------------------------------
// Bookings of the day

const ACTIVE = new Set(['requested', 'offered', 'confirmed', 'assigned', 'picked_up']);
const CANCELLABLE = new Set(['offered', 'confirmed', 'assigned']);

async function refreshBookings() {
    if (!state.token || !state.today) {
        return;
    }
    try {
        state.bookings = await allBookings(state.token, state.today);
        state.updatedAt = nowHHMM();
        renderBookings();
    } catch (e) {
        if (e.status === 401) {
            fail(e);
        }
    }
}

function placeName(p) {
    const s = p && p.stop_id && state.stopById.get(p.stop_id);
    return s ? stopLabel(s) : (p && p.stop_id) || '';
}

function renderBookings() {
    const showAll = $('#bk-all').checked;
    $('#bk-updated').textContent = state.updatedAt ? t('updated', { t: state.updatedAt }) : '';
    const rows = state.bookings
        .filter((b) => showAll || ACTIVE.has(b.status))
        .sort((a, b) => (a.planned_pickup_s ?? a.pickup_from_s ?? 1e9) - (b.planned_pickup_s ?? b.pickup_from_s ?? 1e9));
    const tbody = $('#bookings');
    tbody.replaceChildren(
        ...rows.map((b) => {
            const name = riderName(b.rider_id);
            const time = b.picked_up || b.planned_pickup || b.pickup_from;
            return el(
                'tr',
                { dataset: { booking: b.id, status: b.status }, class: state.rider && b.rider_id === state.rider.id ? 'mine' : '' },
                el('td', { class: 'time' }, hhmm(time), b.pickup_from ? el('div', { class: 'muted' }, `${hhmm(b.pickup_from)}〜${hhmm(b.pickup_to)}`) : null),
                el('td', {}, name),
                el('td', {}, `${placeName(b.pickup)} → ${placeName(b.dropoff)}`),
                el('td', { class: 'num' }, b.wheelchairs ? `${b.passengers} (♿${b.wheelchairs})` : String(b.passengers)),
                el('td', {}, el('span', { class: `status ${b.status}`, dataset: { status: b.status } }, i18n.statusName(b.status))),
                el('td', {}, b.vehicle_id || ''),
                el(
                    'td',
                    {},
                    CANCELLABLE.has(b.status)
                        ? el('button', { type: 'button', class: 'danger', onclick: () => cancelBooking(b, name) }, t('cancel'))
                        : null,
                ),
            );
        }),
    );
}

async function cancelBooking(b, name) {
    if (!window.confirm(t('cancel_q', { name }))) {
        return;
    }
    try {
        await call(`/v1/bookings/${encodeURIComponent(b.id)}/cancel`, { method: 'POST', body: { reason: 'operator' }, idempotencyKey: uuid() });
        say(t('cancelled_msg'), 'ok');
        if (state.offer && state.offer.id === b.id) {
            clearOffer();
        }
        refreshBookings();
    } catch (e) {
        fail(e);
    }
}

// ---------------------------------------------------------------------------
// Wiring

const SHORTCUTS = {
    KeyR: () => $('#rider-q').focus(),
    KeyN: () => {
        $('#rider-new').open = true;
        $('#rf-name').focus();
    },
    KeyP: () => $('#pickup-q').focus(),
    KeyD: () => $('#dropoff-q').focus(),
    KeyT: () => document.querySelector('input[name=when]:checked').focus(),
    KeyO: () => $('#offer-form').requestSubmit(),
    KeyC: () => {
        const b = $('#confirm-btn');
        if (b) {
            b.click();
        }
    },
    KeyB: () => $('#bk-all').focus(),
    KeyK: () => $('#token').focus(),
    KeyL: () => i18n.toggleLang(),
};

function wire() {
    document.addEventListener('keydown', (ev) => {
        const f = ev.altKey && !ev.ctrlKey && !ev.metaKey && SHORTCUTS[ev.code];
        if (f && !ev.repeat) {
            ev.preventDefault();
            f();
        }
    });
    $('#lang').addEventListener('click', () => i18n.toggleLang());
    i18n.onLangChange(() => {
        renderDates();
        renderRider();
        renderChosen();
        renderBookings();
        if (state.map) {
            state.map.drawStops(stopLabel, (s) => choose(document.querySelector('input[name=mapfor]:checked').value, s));
        }
        if (state.offer) {
            renderOffer();
        }
    });
    $('#token').value = state.token;
    $('#token-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        state.token = $('#token').value.trim();
        saveToken('operator', state.token);
        start();
    });
    $('#rider-search').addEventListener('submit', (ev) => {
        ev.preventDefault();
        searchRiders($('#rider-q').value).catch(fail);
    });
    $('#rider-form').addEventListener('submit', registerRider);
    $('#rf-home-q').addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
            ev.preventDefault();
            searchStops($('#rf-home-q').value, $('#rf-home-results'), (s) => {
                state.homeStop = s;
                $('#rf-home-results').replaceChildren();
                $('#rf-home').textContent = `${stopLabel(s)} (${s.id})`;
                $('#rf-wheelchair').focus();
            }).catch(fail);
        }
    });
    for (const which of ['pickup', 'dropoff']) {
        $(`#${which}-form`).addEventListener('submit', (ev) => {
            ev.preventDefault();
            searchStops($(`#${which}-q`).value, $(`#${which}-results`), (s) => {
                choose(which, s);
                (which === 'pickup' ? $('#dropoff-q') : document.querySelector('input[name=when]:checked')).focus();
            }).catch(fail);
        });
    }
    $('#swap').addEventListener('click', () => {
        [state.pickup, state.dropoff] = [state.dropoff, state.pickup];
        clearOffer();
        renderChosen();
    });
    for (const r of document.querySelectorAll('input[name=when]')) {
        r.addEventListener('change', () => {
            const asap = whenKind() === 'asap';
            $('#time').disabled = asap;
            if (!asap && !$('#time').value) {
                $('#time').value = nowHHMM();
            }
            clearOffer();
        });
    }
    $('#offer-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        requestOffer().catch(fail);
    });
    $('#bk-all').addEventListener('change', renderBookings);
}

let timers = [];

async function start() {
    for (const x of timers) {
        clearInterval(x);
    }
    timers = [];
    try {
        await loadHealth();
    } catch (e) {
        fail(e);
    }
    tickClock();
    timers.push(setInterval(tickClock, 10000));
    timers.push(setInterval(() => loadHealth().catch(() => {}), 60000));
    if (!state.token) {
        say(t('no_token'), 'error');
        $('#token').focus();
        return;
    }
    try {
        await loadStops();
        say('');
    } catch (e) {
        fail(e);
        return;
    }
    await refreshBookings();
    timers.push(setInterval(refreshBookings, 4000));
    $('#rider-q').focus();
}

wire();
start();
