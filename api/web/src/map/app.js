// map/app.js - the live map and dashboard.
//
// The area is drawn from its own stops (GET /v1/stops) with no tiles; every
// few seconds the vans (GET /v1/vehicles), each van's plan
// (GET /v1/vehicles/{id}/plan) and the day's bookings (GET /v1/bookings)
// are read again and drawn: each van at its position with its route as a
// polyline through its planned stops, pickups still to come ringed, and on
// the side the key numbers of the day, bookings by status and a line per
// van.  Readers: operator, planner or admin tokens.
import { $, allBookings, api, ApiError, el, hhmm, loadToken, saveToken, STATUSES } from '../common/api.js';
import * as i18n from '../common/i18n.js';
import { AreaMap, COLORS } from '../common/svgmap.js';

const { t } = i18n;

i18n.setup({
    title: { ja: '運行マップ', en: 'Live map' },
    h_numbers: { ja: '本日の数字', en: 'Key numbers today' },
    h_status: { ja: '予約の状態', en: 'Bookings by status' },
    h_vehicles: { ja: '車両', en: 'Vans' },
    col_vehicle: { ja: '車両', en: 'Van' },
    col_onboard: { ja: '乗車中', en: 'On board' },
    col_stops: { ja: '停留所', en: 'Stops' },
    col_next: { ja: '次', en: 'Next' },
    n_trips: { ja: '予約（確定以上）', en: 'Trips booked' },
    n_riding: { ja: '乗車中', en: 'Riding now' },
    n_done: { ja: '完了', en: 'Completed' },
    n_waiting: { ja: 'お迎え待ち', en: 'Waiting for pickup' },
    n_lost: { ja: '取消・不在', en: 'Cancelled / no-show' },
    n_refused: { ja: 'お断り', en: 'Refused' },
    n_vans: { ja: '運行中の車両', en: 'Vans in service' },
    n_ontime: { ja: '時間内のお迎え', en: 'Pickups on time' },
    out_of_service: { ja: '運休', en: 'out of service' },
    no_token: { ja: '運行管理・オペレーターのトークンを右上に入力してください。', en: 'Enter an operator or planner token (top right).' },
    updated: { ja: '{t} 更新', en: 'updated {t}' },
    legend_route: { ja: '経路', en: 'route' },
    legend_wait: { ja: 'お迎え待ち', en: 'waiting pickup' },
    k_break: { ja: '休憩', en: 'break' },
});

const state = {
    token: loadToken('map'),
    today: '',
    map: null,
    stops: [],
    vehicles: [],
    plans: new Map(),
    bookings: [],
    timer: 0,
    updated: '', // service clock of the last refresh
};

function say(text, kind) {
    $('#global-msg').textContent = text || '';
    $('#global-msg').className = `msg banner ${kind || ''}`;
}

function fail(e) {
    if (e instanceof ApiError && e.status === 0) {
        say(t('err_network'), 'error');
    } else if (e instanceof ApiError && e.status === 401) {
        say(t('err_auth'), 'error');
    } else {
        say(e.message || String(e), 'error');
    }
}

const call = (path) => api(state.token, path);

async function loadArea() {
    const h = await api('', '/v1/health');
    state.today = h.service_date;
    $('#clock').textContent = `${h.service_date} ${hhmm(h.now)}`;
    const m = /T(\d\d:\d\d:\d\d)/.exec(h.now || '');
    state.updated = m ? m[1] : '';
    if (!state.map) {
        const r = await call('/v1/stops?limit=1000');
        state.stops = r.stops || [];
        state.map = new AreaMap($('#map'), state.stops);
        state.map.drawStops((s) => `${i18n.stopName(s)} (${s.id})`);
    }
}

async function refresh() {
    try {
        await loadArea();
        const [vr, bookings] = await Promise.all([call(`/v1/vehicles?date=${state.today}`), allBookings(state.token, state.today)]);
        state.vehicles = vr.vehicles || [];
        state.bookings = bookings;
        const plans = await Promise.all(
            state.vehicles.map((v) => call(`/v1/vehicles/${encodeURIComponent(v.id)}/plan?date=${state.today}`).catch(() => null)),
        );
        state.plans = new Map(state.vehicles.map((v, i) => [v.id, plans[i]]));
        say('');
        draw();
    } catch (e) {
        fail(e);
    }
}

function color(i) {
    return COLORS[i % COLORS.length];
}

function draw() {
    const m = state.map;
    if (!m) {
        return;
    }
    m.clearVehicles();
    const marks = [];
    state.vehicles.forEach((v, i) => {
        const p = state.plans.get(v.id);
        if (!p) {
            return;
        }
        const pts = [p.position, ...p.stops.map((s) => s.place)].filter((x) => x && typeof x.lat === 'number');
        m.drawRoute(pts, color(i), !v.in_service);
        for (const s of p.stops) {
            if (s.kind === 'pickup' && s.place.stop_id) {
                marks.push({ stopId: s.place.stop_id, cls: 'pickup' });
            }
        }
    });
    m.mark(marks);
    state.vehicles.forEach((v, i) => {
        const p = state.plans.get(v.id);
        if (p && p.position) {
            const label = v.id.replace(/^\D+/, '') || v.id;
            m.drawVehicle(p.position.lat, p.position.lon, color(i), label, `${v.id}: ${p.seats_used || 0} / ${i18n.stopName(p.position)}`);
        }
    });
    $('#legend').replaceChildren(
        ...state.vehicles.map((v, i) => el('div', {}, el('span', { class: 'sw', style: `background:${color(i)}` }), v.id)),
        el('div', {}, '◯ ', t('legend_wait')),
    );
    drawNumbers();
    drawVehicles();
    $('#updated').textContent = state.updated ? t('updated', { t: state.updated }) : '';
}

function count(...sts) {
    return state.bookings.filter((b) => sts.includes(b.status)).length;
}

function drawNumbers() {
    const picked = state.bookings.filter((b) => b.picked_up_s !== null && b.picked_up_s !== undefined && b.pickup_to_s !== null);
    const onTime = picked.filter((b) => b.picked_up_s <= b.pickup_to_s + 60).length;
    const inService = state.vehicles.filter((v) => v.in_service).length;
    const nums = [
        ['n_trips', count('confirmed', 'assigned', 'picked_up', 'dropped_off', 'no_show'), 'trips'],
        ['n_waiting', count('confirmed', 'assigned'), 'waiting'],
        ['n_riding', count('picked_up'), 'riding'],
        ['n_done', count('dropped_off'), 'done'],
        ['n_lost', count('cancelled', 'no_show'), 'lost'],
        ['n_refused', count('rejected'), 'refused'],
        ['n_vans', `${inService} / ${state.vehicles.length}`, 'vans'],
        ['n_ontime', picked.length ? `${Math.round((100 * onTime) / picked.length)}%` : '–', 'ontime'],
    ];
    $('#numbers').replaceChildren(
        ...nums.map(([k, v, id]) => el('div', { class: 'n', dataset: { key: id } }, el('div', { class: 'v' }, v), el('div', { class: 'k' }, t(k)))),
    );
    const max = Math.max(1, ...STATUSES.map((s) => count(s)));
    $('#status-bars').replaceChildren(
        ...STATUSES.filter((s) => count(s) > 0 || ['confirmed', 'picked_up', 'dropped_off'].includes(s)).map((s) =>
            el(
                'div',
                { class: 'bar-row', dataset: { status: s } },
                el('span', {}, i18n.statusName(s)),
                el('div', {}, el('div', { class: `fill ${s}`, style: `width:${(100 * count(s)) / max}%` })),
                el('span', { class: 'num' }, String(count(s))),
            ),
        ),
    );
}

function drawVehicles() {
    $('#vehicles').replaceChildren(
        ...state.vehicles.map((v, i) => {
            const p = state.plans.get(v.id);
            const next = p && p.stops.find((s) => s.kind !== 'break' || s.committed);
            const nextText = next ? `${hhmm(next.planned)} ${next.kind === 'break' ? t('k_break') : i18n.stopName(next.place)}` : '';
            return el(
                'tr',
                { dataset: { vehicle: v.id } },
                el('td', {}, el('span', { class: 'vdot', style: `background:${color(i)}` }), v.id, v.in_service ? '' : ` (${t('out_of_service')})`),
                el('td', { class: 'num' }, String(v.onboard)),
                el('td', { class: 'num' }, String(p ? p.stops.length : v.n_stops)),
                el('td', {}, nextText),
            );
        }),
    );
}

function start() {
    clearInterval(state.timer);
    $('#token').value = state.token;
    if (!state.token) {
        say(t('no_token'), 'error');
        return;
    }
    refresh();
    state.timer = setInterval(refresh, 5000);
}

$('#lang').addEventListener('click', () => i18n.toggleLang());
i18n.onLangChange(() => {
    if (state.map) {
        state.map.drawStops((s) => `${i18n.stopName(s)} (${s.id})`);
    }
    draw();
});
$('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.token = $('#token').value.trim();
    saveToken('map', state.token);
    start();
});
start();
