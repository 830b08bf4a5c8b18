// api.js - what the three consoles share: the bearer token, calls to the
// /v1 JSON API, ids, and times of the service day.
//
// Tokens are kept in localStorage under one key per console (an operator
// and a driver may use the same browser for a demo); "?token=..." in the
// address stores it and is then removed from the address bar, so the
// token does not linger in the history or get copied with a link.
//
// Times from the API are ISO strings in the service area's zone
// ("2026-11-22T09:07:05+09:00"); they are shown as the local clock reading
// of the area ("09:07"), taken from the string, never converted through the
// browser's zone (a dispatcher abroad still sees the town's times).

export class ApiError extends Error {
    constructor(status, body) {
        const e = (body && body.error) || {};
        super(e.message || `HTTP ${status}`);
        this.status = status;
        this.code = e.code || '';
        this.body = body;
    }
}

export function tokenKey(consoleName) {
    return `noriai.token.${consoleName}`;
}

export function loadToken(consoleName) {
    const url = new URL(location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
        localStorage.setItem(tokenKey(consoleName), fromUrl);
        url.searchParams.delete('token');
        history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
    return localStorage.getItem(tokenKey(consoleName)) || '';
}

export function saveToken(consoleName, token) {
    if (token) {
        localStorage.setItem(tokenKey(consoleName), token.trim());
    } else {
        localStorage.removeItem(tokenKey(consoleName));
    }
}

// A v4 UUID; crypto.randomUUID exists only in secure contexts (https or
// localhost) and a tablet may reach the daemon over plain http on a LAN.
export function uuid() {
    if (globalThis.crypto && typeof crypto.randomUUID === 'function') {
        return crypto.randomUUID();
    }
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Calls the API; resolves to the parsed JSON body of a 2xx answer, rejects
// with an ApiError carrying the status and the error body otherwise.
export async function api(token, path, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (token) {
        headers.Authorization = `Bearer ${token}`;
    }
    let body;
    if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.body);
    }
    if (opts.idempotencyKey) {
        headers['Idempotency-Key'] = opts.idempotencyKey;
    }
    let res;
    try {
        res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
    } catch (e) {
        throw new ApiError(0, { error: { code: 'network', message: String(e.message || e) } });
    }
    let json = null;
    const text = await res.text();
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = { error: { code: 'bad_answer', message: text.slice(0, 200) } };
        }
    }
    if (!res.ok) {
        throw new ApiError(res.status, json);
    }
    return json;
}

// A GET with a query built from an object (empty values left out).
export function query(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v !== undefined && v !== null && v !== '') {
            q.set(k, String(v));
        }
    }
    const s = q.toString();
    return s ? `${path}?${s}` : path;
}

// Every booking of a day, following next_cursor (at most maxPages pages).
export async function allBookings(token, date, maxPages = 20) {
    const out = [];
    let cursor = '';
    for (let i = 0; i < maxPages; i++) {
        const r = await api(token, query('/v1/bookings', { date, limit: 200, cursor }));
        out.push(...(r.bookings || []));
        if (!r.next_cursor) {
            break;
        }
        cursor = r.next_cursor;
    }
    return out;
}

// "HH:MM" of an ISO time of the area, or of seconds of the service day.
export function hhmm(t) {
    if (t === null || t === undefined || t === '') {
        return '';
    }
    if (typeof t === 'number') {
        const m = Math.floor(t / 60);
        return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    }
    const m = /T(\d\d:\d\d)/.exec(t);
    return m ? m[1] : String(t);
}

export function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) {
            continue;
        }
        if (k === 'class') {
            e.className = v;
        } else if (k === 'dataset') {
            Object.assign(e.dataset, v);
        } else if (k.startsWith('on') && typeof v === 'function') {
            e.addEventListener(k.slice(2), v);
        } else if (v === true) {
            e.setAttribute(k, '');
        } else {
            e.setAttribute(k, String(v));
        }
    }
    for (const c of children.flat()) {
        if (c !== undefined && c !== null && c !== false) {
            e.append(c instanceof Node ? c : document.createTextNode(String(c)));
        }
    }
    return e;
}

export function $(sel, root = document) {
    return root.querySelector(sel);
}

export const STATUSES = [
    'requested',
    'offered',
    'confirmed',
    'assigned',
    'picked_up',
    'dropped_off',
    'rejected',
    'expired',
    'cancelled',
    'no_show',
];
