// i18n.js - Japanese and English for the consoles.
//
// Each console passes its own table {key: {ja, en}}; the words every
// console needs (booking statuses, the language switch) are here.  The
// choice is kept in localStorage ("noriai.lang") for all consoles; the
// default is Japanese, the language of the demo town.  Static text in the
// HTML is marked data-i18n="key" (also data-i18n-placeholder, -title,
// -aria-label); text built by the scripts calls t(key, {name: value}).

const COMMON = {
    lang_switch: { ja: 'English', en: '日本語' },
    st_requested: { ja: '受付中', en: 'requested' },
    st_offered: { ja: '提示中', en: 'offered' },
    st_confirmed: { ja: '確定', en: 'confirmed' },
    st_assigned: { ja: '配車済', en: 'assigned' },
    st_picked_up: { ja: '乗車済', en: 'picked up' },
    st_dropped_off: { ja: '降車済', en: 'dropped off' },
    st_rejected: { ja: '不可', en: 'rejected' },
    st_expired: { ja: '期限切れ', en: 'expired' },
    st_cancelled: { ja: '取消', en: 'cancelled' },
    st_no_show: { ja: '不在', en: 'no-show' },
    token: { ja: 'トークン', en: 'Token' },
    save: { ja: '保存', en: 'Save' },
    logout: { ja: 'ログアウト', en: 'Log out' },
    err_network: { ja: 'サーバーに接続できません', en: 'Cannot reach the server' },
    err_auth: { ja: 'トークンが無効です', en: 'The token is not valid' },
    back: { ja: '← メニュー', en: '← Menu' },
};

let lang = localStorage.getItem('noriai.lang') || 'ja';
let table = { ...COMMON };
const listeners = [];

export function setup(consoleTable) {
    table = { ...COMMON, ...consoleTable };
    document.documentElement.lang = lang;
    apply();
}

export function getLang() {
    return lang;
}

export function setLang(l) {
    lang = l === 'en' ? 'en' : 'ja';
    localStorage.setItem('noriai.lang', lang);
    document.documentElement.lang = lang;
    apply();
    for (const f of listeners) {
        f(lang);
    }
}

export function toggleLang() {
    setLang(lang === 'ja' ? 'en' : 'ja');
}

export function onLangChange(f) {
    listeners.push(f);
}

export function t(key, vars) {
    const e = table[key];
    let s = e ? e[lang] || e.en || key : key;
    for (const [k, v] of Object.entries(vars || {})) {
        s = s.split(`{${k}}`).join(String(v));
    }
    return s;
}

export function statusName(st) {
    return t(`st_${st}`);
}

// A stop's name in the current language (English name when there is one).
export function stopName(place) {
    if (!place) {
        return '';
    }
    if (lang === 'en' && place.name_en) {
        return place.name_en;
    }
    return place.name || place.name_en || place.stop_id || place.id || '';
}

export function apply(root = document) {
    for (const e of root.querySelectorAll('[data-i18n]')) {
        e.textContent = t(e.dataset.i18n);
    }
    for (const attr of ['placeholder', 'title', 'aria-label']) {
        const d = `data-i18n-${attr}`;
        for (const e of root.querySelectorAll(`[${d}]`)) {
            e.setAttribute(attr, t(e.getAttribute(d)));
        }
    }
}
