// operator/app.js - the operator console: a phone booking in under a minute.
//
// Flow: find the caller (phone digits or name in kanji/kana) or register
// them; pick the pickup and drop-off stops by name or on the map; choose
// "now", "depart after" or "arrive by"; Offer asks the daemon for a booking
// (POST /v1/bookings, one Idempotency-Key per request, so a double click or
// a retry after a lost answer books once); the answer is either an offered
// window to confirm or decline, or alternatives (409) to ask again with.
// An offer shows its hold time running down (from the booking's "expires")
// and cannot be confirmed once it has run out; it can be asked for again.
// The bookings of any day (today by default, tomorrow one click away) are
// listed below with the promise (pickup window, drop-off), what the caller
// asked for, the rider's phone and needs, refreshed every few seconds; the
// chosen rider's upcoming and past trips are on the rider's panel.
//
// What the API refuses is said in the screen's language (../errors.js):
// the server's English message never appears on a Japanese screen.  No
// internal id (rider, booking, stop) is shown; they ride in data-*
// attributes for the tests.
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
import { errorMessage, reasonText } from '../errors.js';

const { t } = i18n;

i18n.setup({
    title: { ja: 'オペレーター画面', en: 'Operator console' },
    h_rider: { ja: '1. 利用者', en: '1. Rider' },
    h_trip: { ja: '2. 乗車・降車', en: '2. Pickup and drop-off' },
    h_time: { ja: '3. 日時・人数', en: '3. Time and party' },
    h_bookings: { ja: '予約一覧', en: 'Bookings' },
    list_date: { ja: '表示する日', en: 'Day' },
    today_btn: { ja: '今日', en: 'Today' },
    tomorrow_btn: { ja: '明日', en: 'Tomorrow' },
    prev_day: { ja: '前の日', en: 'Previous day' },
    next_day: { ja: '次の日', en: 'Next day' },
    n_bookings: { ja: '{n} 件', en: 'bookings: {n}' },
    no_bookings: { ja: 'この日の予約はありません。', en: 'No bookings on this day.' },
    col_window: { ja: 'お迎え時間帯', en: 'Pickup window' },
    col_drop: { ja: '降車予定', en: 'Drop-off' },
    col_target: { ja: 'ご希望', en: 'Asked for' },
    col_phone: { ja: '電話', en: 'Phone' },
    col_needs: { ja: '人数・配慮', en: 'Party and needs' },
    col_action: { ja: '操作', en: 'Actions' },
    planned_at: { ja: '予定 {t}', en: 'planned {t}' },
    boarded_at: { ja: '乗車 {t}', en: 'boarded {t}' },
    latest_at: { ja: '遅くとも {t}', en: 'by {t}' },
    alighted_at: { ja: '降車 {t}', en: 'arrived {t}' },
    target_asap: { ja: 'すぐ', en: 'now' },
    target_depart: { ja: '{t} 以降に出発', en: 'leave after {t}' },
    target_arrive: { ja: '{t} までに到着', en: 'arrive by {t}' },
    n_people: { ja: '{n}名', en: 'party of {n}' },
    n_wheelchairs: { ja: '車いす{n}', en: 'wheelchairs: {n}' },
    rider_upcoming: { ja: '今後の予約', en: 'Upcoming trips' },
    rider_past: { ja: 'これまでの利用', en: 'Past trips' },
    rider_none: { ja: 'なし', en: 'none' },
    rider_more: { ja: 'ほか {n} 件', en: '{n} more' },
    offer_left: { ja: '保留 残り {t}', en: 'Held for {t}' },
    offer_expired: { ja: '期限切れ', en: 'Expired' },
    offer_expired_msg: {
        ja: 'ご提案の保留時間が過ぎました。確定するには、もう一度空き確認をしてください。',
        en: 'The hold on this offer has run out. Ask again to book.',
    },
    ask_again: { ja: 'もう一度空き確認', en: 'Ask again' },
    close: { ja: '閉じる', en: 'Close' },
    dow: { ja: '日,月,火,水,木,金,土', en: 'Sun,Mon,Tue,Wed,Thu,Fri,Sat' },
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
    alt_no_reason: { ja: '理由不明', en: 'no reason given' },
    alt_item: { ja: '{from}〜{to} お迎え、{eta} ごろ到着', en: 'Pickup {from}–{to}, arrives about {eta}' },
    confirmed_msg: {
        ja: '{name} さんの予約を確定しました（{date} {from}〜{to} お迎え）。',
        en: 'Booked for {name} ({date}, pickup {from}–{to}).',
    },
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
    offerBody: null, // the trip asked for, to ask again after an expiry
    offerDeadline: 0, // Date.now() value at which the hold runs out
    offerExpired: false,
    listDate: '', // the day shown in the bookings list
    bookings: [],
    updatedAt: '', // service clock of the last refresh of the list
    riderTrips: null, // the chosen rider's bookings (all days)
    msg: null, // {text: () => string, kind, booking}: re-said when the language changes
};

// ---------------------------------------------------------------------------
// Messages and errors

// The banner: `text` is a string or a function giving it in the current
// language (kept, so a language switch says it again in the new one).
function say(text, kind, booking) {
    state.msg = text ? { text: typeof text === 'function' ? text : () => text, kind, booking } : null;
    renderMsg();
}

function renderMsg() {
    const m = $('#global-msg');
    const x = state.msg;
    m.textContent = x ? x.text() : '';
    m.className = `msg banner ${(x && x.kind) || ''}`;
    if (x && x.booking) {
        m.dataset.booking = x.booking;
    } else {
        delete m.dataset.booking;
    }
    if (x && x.code) {
        m.dataset.code = x.code;
    } else {
        delete m.dataset.code;
    }
}

// What to tell people about a failure: the console's own sentence for the
// API's error code (never the server's English message on a Japanese
// screen).
function errText(e) {
    if (e instanceof ApiError) {
        const code = e.status === 0 ? 'network' : e.code || (e.status === 401 ? 'unauthorized' : '');
        if (code === 'no_availability' && e.body && e.body.error && e.body.error.reason) {
            const r = reasonText(e.body.error.reason, i18n.getLang());
            return `${errorMessage(code, i18n.getLang())}（${r}）`;
        }
        return errorMessage(code || `http_${e.status}`, i18n.getLang(), e.message);
    }
    // A bug of the page itself, not an answer of the API.
    return errorMessage('', i18n.getLang(), e && e.message);
}

function fail(e) {
    say(() => errText(e), 'error');
    if (e instanceof ApiError && state.msg) {
        state.msg.code = e.code || (e.status === 0 ? 'network' : `http_${e.status}`);
        renderMsg();
    }
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

// "11月23日（月）" / "Mon 23 Nov" of a YYYY-MM-DD date.
function dayName(date, withRel = true) {
    if (!date) {
        return '';
    }
    const d = new Date(`${date}T12:00:00Z`);
    if (Number.isNaN(d.getTime())) {
        return '';
    }
    const dow = t('dow').split(',')[d.getUTCDay()];
    let rel = '';
    if (!withRel) {
        rel = '';
    } else if (date === state.today) {
        rel = t('today');
    } else if (state.today && date === addDays(state.today, 1)) {
        rel = t('tomorrow');
    }
    if (i18n.getLang() === 'ja') {
        return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日（${dow}）${rel ? ` ${rel}` : ''}`;
    }
    const mon = d.toLocaleString('en', { month: 'short', timeZone: 'UTC' });
    return `${dow} ${d.getUTCDate()} ${mon}${rel ? ` (${rel})` : ''}`;
}

// The trip's date (the form) and the list's date: date pickers that start
// at today; a day before today cannot be booked.
function renderDates() {
    const f = $('#date');
    f.min = state.today;
    if (!f.value || f.value < state.today) {
        f.value = state.today;
    }
    $('#date-dow').textContent = dayName(f.value);
    const l = $('#bk-date');
    if (!state.listDate) {
        state.listDate = state.today;
    }
    l.value = state.listDate;
    $('#bk-dow').textContent = dayName(state.listDate);
}

function setListDate(date) {
    if (!date || !/^\d{4}-\d\d-\d\d$/.test(date)) {
        return;
    }
    state.listDate = date;
    state.bookings = [];
    state.updatedAt = '';
    renderDates();
    renderBookings();
    refreshBookings();
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
        const box = $(`#${which}-chosen`);
        box.textContent = s ? stopLabel(s) : '';
        if (s) {
            box.dataset.stop = s.id;
        } else {
            delete box.dataset.stop;
        }
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
        listEl.append(el('li', {}, el('button', { type: 'button', dataset: { stop: s.id }, onclick: () => onPick(s) }, stopLabel(s))));
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
    state.riderTrips = null;
    renderRiderTrips();
    loadRiderTrips();
    $('#pickup-q').focus();
}

// The chosen rider's trips on every day (GET /v1/bookings?rider=...),
// following the pages; upcoming ones first, then the last few past ones.
async function loadRiderTrips(quiet) {
    const r = state.rider;
    if (!r) {
        return;
    }
    const out = [];
    let cursor = '';
    try {
        for (let i = 0; i < 10; i++) {
            const page = await call(query('/v1/bookings', { rider: r.id, limit: 200, cursor }));
            out.push(...(page.bookings || []));
            if (!page.next_cursor) {
                break;
            }
            cursor = page.next_cursor;
        }
    } catch (e) {
        if (state.rider === r && !quiet) {
            fail(e);
        }
        return;
    }
    if (state.rider === r) {
        state.riderTrips = out;
        renderRiderTrips();
    }
}

const UPCOMING = new Set(['requested', 'offered', 'confirmed', 'assigned', 'picked_up']);
const PAST_SHOWN = 5;

function tripKey(b) {
    return `${b.date} ${String(b.pickup_from_s ?? b.time_s ?? b.requested_s ?? 0).padStart(6, '0')}`;
}

function riderTripItem(b) {
    const when = b.pickup_from ? `${hhmm(b.pickup_from)}〜${hhmm(b.pickup_to)}` : targetText(b);
    return el(
        'li',
        { dataset: { booking: b.id, status: b.status } },
        el('span', { class: 'd' }, dayName(b.date, false)),
        ' ',
        el('span', { class: 'time' }, when),
        ' ',
        `${placeName(b.pickup)} → ${placeName(b.dropoff)}`,
        ' ',
        el('span', { class: `status ${b.status}` }, i18n.statusName(b.status)),
    );
}

function renderRiderTrips() {
    const box = $('#rider-trips');
    const all = state.riderTrips;
    if (!state.rider || !all) {
        box.replaceChildren();
        return;
    }
    const today = state.today;
    const up = all.filter((b) => UPCOMING.has(b.status) && b.date >= today).sort((a, b) => (tripKey(a) < tripKey(b) ? -1 : 1));
    const past = all
        .filter((b) => !(UPCOMING.has(b.status) && b.date >= today) && b.status !== 'offered')
        .sort((a, b) => (tripKey(a) < tripKey(b) ? 1 : -1));
    const list = (id, items) =>
        items.length ? el('ul', { class: 'trips', id }, items.map(riderTripItem)) : el('p', { class: 'muted', id }, t('rider_none'));
    const parts = [
        el('h3', {}, t('rider_upcoming'), ` (${up.length})`),
        list('rider-upcoming', up),
        el('h3', {}, t('rider_past'), ` (${past.length})`),
        list('rider-past', past.slice(0, PAST_SHOWN)),
    ];
    if (past.length > PAST_SHOWN) {
        parts.push(el('p', { class: 'muted' }, t('rider_more', { n: past.length - PAST_SHOWN })));
    }
    box.replaceChildren(...parts);
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
            r.phone ? el('div', {}, r.phone) : null,
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
        say(() => t('registered_msg', { name: r.name }), 'ok');
        $('#rider-form').reset();
        state.homeStop = null;
        $('#rf-home').textContent = '';
        delete $('#rf-home').dataset.stop;
        $('#rider-new').open = false;
        selectRider(r);
    } catch (e) {
        fail(e);
    }
}

// Riders of the bookings list (name, phone, needs), fetched once per id.
function riderOf(id) {
    if (!id) {
        return null;
    }
    const r = state.riders.get(id);
    if (r && r.name !== undefined) {
        return r;
    }
    if (!r) {
        state.riders.set(
            id,
            call(`/v1/riders/${encodeURIComponent(id)}`)
                .then((x) => {
                    state.riders.set(id, x);
                    renderBookings();
                })
                // Never the id on screen: an unreadable rider has no name.
                .catch(() => state.riders.set(id, { id, name: '', phone: '' })),
        );
    }
    return null;
}

function riderName(id) {
    const r = riderOf(id);
    return (r && r.name) || '';
}

// ---------------------------------------------------------------------------
// Offers

function whenKind() {
    return document.querySelector('input[name=when]:checked').value;
}

function clearOffer() {
    state.offer = null;
    state.offerKey = '';
    state.offerDeadline = 0;
    state.offerExpired = false;
    $('#offer').replaceChildren();
}

// When the hold of an offer runs out, in this page's Date.now(): the
// offer's own length (expires - requested, both from the daemon's clock)
// from the moment the answer came, so a page whose clock differs from the
// daemon's (or the demo's shifted clock) still counts the right time.
function offerDeadline(b) {
    const exp = Date.parse(b.expires || '');
    if (Number.isNaN(exp)) {
        return 0;
    }
    const req = Date.parse(b.requested || '');
    if (!Number.isNaN(req) && exp >= req) {
        return Date.now() + (exp - req);
    }
    return exp - state.clockOffsetMs;
}

function msLeft() {
    return state.offerDeadline ? state.offerDeadline - Date.now() : Infinity;
}

function mmss(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// Once a second: the countdown of the offer on screen, and the card turned
// to expired when it reaches zero.
function tickOffer() {
    const b = state.offer;
    if (!b || b.status !== 'offered' || state.offerExpired || !state.offerDeadline) {
        return;
    }
    const left = msLeft();
    if (left <= 0) {
        markOfferExpired();
        return;
    }
    const c = $('#offer-left');
    if (c) {
        c.textContent = t('offer_left', { t: mmss(left) });
        c.dataset.left = String(Math.ceil(left / 1000));
        c.classList.toggle('low', left <= 30000);
    }
}

function markOfferExpired() {
    if (!state.offer) {
        return;
    }
    state.offerExpired = true;
    renderOffer();
    say(() => t('offer_expired_msg'), 'error');
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
        say(() => t('pick_rider_first'), 'error');
        $('#rider-q').focus();
        return;
    }
    if (!state.pickup || !state.dropoff) {
        say(() => t('pick_stops_first'), 'error');
        (state.pickup ? $('#dropoff-q') : $('#pickup-q')).focus();
        return;
    }
    const body = tripBody(override);
    if (body.when !== 'asap' && !body.time) {
        say(() => t('time_needed'), 'error');
        $('#time').focus();
        return;
    }
    if (state.offer && state.offer.status === 'offered') {
        // A new request replaces the pending offer: release the seat first
        // (one that has run out is answered invalid_state: nothing to do).
        decline(true);
    }
    state.offerBody = body;
    // One key per distinct request: a retry of the same click books once.
    state.offerKey = uuid();
    $('#offer-btn').disabled = true;
    say('');
    try {
        const b = await call('/v1/bookings', { method: 'POST', body, idempotencyKey: state.offerKey });
        state.offer = b;
        state.offerDeadline = offerDeadline(b);
        state.offerExpired = false;
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
    if (!b) {
        return;
    }
    const expired = state.offerExpired;
    const confirmBtn = el(
        'button',
        { type: 'button', id: 'confirm-btn', onclick: confirmOffer, disabled: expired, 'aria-disabled': expired ? 'true' : null },
        t('confirm'),
        ' ',
        el('kbd', {}, 'Alt+C'),
    );
    const buttons = expired
        ? [
              confirmBtn,
              el('button', { type: 'button', id: 'ask-again-btn', onclick: () => requestOffer(state.offerBody).catch(fail) }, t('ask_again')),
              el('button', { type: 'button', class: 'secondary', onclick: closeExpired }, t('close')),
          ]
        : [confirmBtn, el('button', { type: 'button', class: 'secondary', id: 'decline-btn', onclick: () => decline(false) }, t('decline'))];
    const left = msLeft();
    $('#offer').replaceChildren(
        el(
            'div',
            { class: `card offer${expired ? ' expired' : ''}`, dataset: { booking: b.id, expired: expired ? 'true' : 'false' } },
            el('h3', {}, t('offer_head'), expired ? el('span', { class: 'expired-badge' }, t('offer_expired')) : null),
            el('div', { class: 'big' }, `${hhmm(b.pickup_from)}〜${hhmm(b.pickup_to)}`),
            b.date && b.date !== state.today ? el('div', { class: 'day' }, dayName(b.date)) : null,
            el('div', {}, t('offer_pickup', { stop: i18n.stopName(b.pickup), from: hhmm(b.pickup_from), to: hhmm(b.pickup_to) })),
            el('div', {}, t('offer_drop', { stop: i18n.stopName(b.dropoff), eta: hhmm(b.planned_dropoff), latest: hhmm(b.latest_dropoff) })),
            b.vehicle_id ? el('div', { class: 'muted' }, t('offer_van', { van: b.vehicle_id })) : null,
            !expired && b.expires
                ? el(
                      'div',
                      { class: 'hold' },
                      // role=timer: read when asked, not announced every second.
                      el(
                          'span',
                          { id: 'offer-left', role: 'timer', 'aria-live': 'off', class: left <= 30000 ? 'low' : '', dataset: { left: String(Math.ceil(left / 1000)) } },
                          t('offer_left', { t: mmss(left) }),
                      ),
                      ' ',
                      el('span', { class: 'muted' }, t('offer_expires', { t: hhmm(b.expires) })),
                  )
                : null,
            el('div', { class: 'row' }, ...buttons),
        ),
    );
    (expired ? $('#ask-again-btn') : confirmBtn).focus();
    $('#offer').scrollIntoView({ block: 'nearest' });
}

function closeExpired() {
    clearOffer();
    say('');
}

function renderAlternatives(err, body) {
    const alts = err.alternatives || [];
    const card = el(
        'div',
        { class: 'card alts' },
        el('div', {}, t(alts.length ? 'alt_head' : 'alt_none', { reason: reasonText(err.reason, i18n.getLang()) || t('alt_no_reason') })),
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
    if (state.offerExpired || msLeft() <= 0) {
        markOfferExpired();
        return;
    }
    try {
        const r = await call(`/v1/bookings/${encodeURIComponent(b.id)}/confirm`, { method: 'POST', idempotencyKey: uuid() });
        const rider = state.rider;
        say(
            () =>
                t('confirmed_msg', {
                    name: (rider && rider.name) || riderName(r.rider_id),
                    date: dayName(r.date || b.date),
                    from: hhmm(r.pickup_from),
                    to: hhmm(r.pickup_to),
                }),
            'ok',
            r.id,
        );
        clearOffer();
        // Ready for the next call: the rider stays, the trip is cleared.
        state.pickup = null;
        state.dropoff = null;
        document.querySelector('input[name=mapfor][value=pickup]').checked = true;
        $('#pickup-q').value = '';
        $('#dropoff-q').value = '';
        renderChosen();
        if (r.date && r.date !== state.listDate) {
            setListDate(r.date);
        } else {
            refreshBookings();
        }
        loadRiderTrips();
    } catch (e) {
        if (e.status === 409 && e.code === 'offer_expired') {
            markOfferExpired();
            return;
        }
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
            say(() => t('declined_msg'), 'ok');
        }
        refreshBookings();
        loadRiderTrips();
    } catch (e) {
        if (!quiet) {
            fail(e);
        }
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
    const date = state.listDate || state.today;
    try {
        const list = await allBookings(state.token, date);
        if (date !== (state.listDate || state.today)) {
            return; // another day was chosen meanwhile
        }
        state.bookings = list;
        state.updatedAt = nowHHMM();
        renderBookings();
    } catch (e) {
        if (e.status === 401 || e.status === 0) {
            fail(e);
        }
    }
}

function placeName(p) {
    const s = p && p.stop_id && state.stopById.get(p.stop_id);
    if (s) {
        return stopLabel(s);
    }
    return (p && (i18n.getLang() === 'en' ? p.name_en || p.name : p.name || p.name_en)) || '';
}

// What the caller asked for: "10:30 までに到着", "10:00 以降に出発", "すぐ".
function targetText(b) {
    if (b.when === 'arrive_by' && b.time) {
        return t('target_arrive', { t: hhmm(b.time) });
    }
    if (b.when === 'depart_after' && b.time) {
        return t('target_depart', { t: hhmm(b.time) });
    }
    return t('target_asap');
}

// Party and needs: "1名・車いす1", the rider's mobility needs, the trip's notes.
function needsCell(b, r) {
    const party = [t('n_people', { n: b.passengers || 1 })];
    if (b.wheelchairs) {
        party.push(t('n_wheelchairs', { n: b.wheelchairs }));
    }
    const needs = [];
    if (r && r.wheelchair && !b.wheelchairs) {
        needs.push(t('wheelchair_user'));
    }
    if (r && r.mobility) {
        needs.push(r.mobility);
    }
    return el(
        'td',
        { class: 'needs-cell' },
        el('div', {}, party.join('・')),
        needs.length ? el('div', { class: 'needs' }, needs.join('・')) : null,
        b.notes ? el('div', { class: 'muted' }, b.notes) : null,
    );
}

function renderBookings() {
    const showAll = $('#bk-all').checked;
    $('#bk-updated').textContent = state.updatedAt ? t('updated', { t: state.updatedAt }) : '';
    const rows = state.bookings
        .filter((b) => showAll || ACTIVE.has(b.status))
        .sort((a, b) => (a.planned_pickup_s ?? a.pickup_from_s ?? 1e9) - (b.planned_pickup_s ?? b.pickup_from_s ?? 1e9));
    $('#bk-count').textContent = t('n_bookings', { n: rows.length });
    $('#bk-empty').hidden = rows.length > 0 || !state.updatedAt;
    const tbody = $('#bookings');
    tbody.replaceChildren(
        ...rows.map((b) => {
            const r = riderOf(b.rider_id);
            const name = (r && r.name) || '';
            const pickupNote = b.picked_up
                ? t('boarded_at', { t: hhmm(b.picked_up) })
                : b.planned_pickup
                  ? t('planned_at', { t: hhmm(b.planned_pickup) })
                  : '';
            const dropMain = b.dropped_off || b.planned_dropoff || b.latest_dropoff;
            const dropNote = b.dropped_off
                ? t('alighted_at', { t: hhmm(b.dropped_off) })
                : b.latest_dropoff
                  ? t('latest_at', { t: hhmm(b.latest_dropoff) })
                  : '';
            return el(
                'tr',
                { dataset: { booking: b.id, status: b.status }, class: state.rider && b.rider_id === state.rider.id ? 'mine' : '' },
                el(
                    'td',
                    { class: 'time' },
                    b.pickup_from ? `${hhmm(b.pickup_from)}〜${hhmm(b.pickup_to)}` : '',
                    pickupNote ? el('div', { class: 'muted' }, pickupNote) : null,
                ),
                el('td', { class: 'time drop' }, hhmm(dropMain), dropNote ? el('div', { class: 'muted' }, dropNote) : null),
                el('td', { class: 'target' }, targetText(b)),
                el('td', { class: 'rider' }, name, r && r.name_kana ? el('div', { class: 'muted kana' }, r.name_kana) : null),
                el('td', { class: 'phone' }, (r && r.phone) || ''),
                needsCell(b, r),
                el('td', {}, placeName(b.pickup), el('div', {}, `→ ${placeName(b.dropoff)}`)),
                el('td', {}, el('span', { class: `status ${b.status}`, dataset: { status: b.status } }, i18n.statusName(b.status))),
                el('td', {}, b.vehicle_id || ''),
                el(
                    'td',
                    {},
                    CANCELLABLE.has(b.status)
                        ? el('button', { type: 'button', class: 'danger small', onclick: () => cancelBooking(b, name) }, t('cancel'))
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
        say(() => t('cancelled_msg'), 'ok');
        if (state.offer && state.offer.id === b.id) {
            clearOffer();
        }
        refreshBookings();
        loadRiderTrips();
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
    KeyB: () => $('#bk-date').focus(),
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
        renderRiderTrips();
        renderChosen();
        renderBookings();
        renderMsg();
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
                $('#rf-home').textContent = stopLabel(s);
                $('#rf-home').dataset.stop = s.id;
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
    $('#bk-date').addEventListener('change', () => setListDate($('#bk-date').value));
    $('#bk-today').addEventListener('click', () => setListDate(state.today));
    $('#bk-tomorrow').addEventListener('click', () => setListDate(addDays(state.today, 1)));
    $('#bk-prev').addEventListener('click', () => setListDate(addDays(state.listDate || state.today, -1)));
    $('#bk-next').addEventListener('click', () => setListDate(addDays(state.listDate || state.today, 1)));
    const setTripDate = (d) => {
        $('#date').value = d;
        $('#date-dow').textContent = dayName(d);
        clearOffer();
    };
    $('#date').addEventListener('change', () => setTripDate($('#date').value));
    $('#date-today').addEventListener('click', () => setTripDate(state.today));
    $('#date-tomorrow').addEventListener('click', () => setTripDate(addDays(state.today, 1)));
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
    timers.push(setInterval(tickOffer, 1000));
    timers.push(setInterval(() => loadHealth().catch(() => {}), 60000));
    if (!state.token) {
        say(() => t('no_token'), 'error');
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
    timers.push(setInterval(() => loadRiderTrips(true), 15000));
    $('#rider-q').focus();
}

wire();
start();
