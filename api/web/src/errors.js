// errors.js - what the consoles say when the API refuses something.
//
// The API answers {"error": {"code": "...", "message": "..."}}; the code is
// stable, the message is English for programs' logs and may change.  The
// consoles show people a sentence of their own for each code, in the
// language of the screen, and never the server's English message on a
// Japanese screen.  A code this table does not know (a newer daemon) gets
// a general sentence with the code in it, for staff to quote when they ask
// for help; on an English screen the server's message follows it.
//
// The reasons of a refused trip ("no_availability" with reason
// "capacity", ...) have their own table: they are shown in the sentence
// that offers the other times.
//
// Codes made by the page itself: "network" (no answer), "bad_answer" (an
// answer that is not JSON).

export const ERRORS = {
    // Made by the page (common/api.js)
    network: {
        ja: 'サーバーに接続できません。回線を確認して、もう一度お試しください。',
        en: 'Cannot reach the server. Check the connection and try again.',
    },
    bad_answer: {
        ja: 'サーバーから読めない応答がありました。もう一度お試しください。',
        en: 'The server gave an answer that cannot be read. Try again.',
    },
    // Input and requests (400)
    bad_request: { ja: '要求の形式が正しくありません。', en: 'The request is malformed.' },
    invalid_json: { ja: '送信した内容を読み取れませんでした。', en: 'The server could not read what was sent.' },
    invalid_field: {
        ja: '入力内容に誤りがあります（長すぎる・範囲外・形式違いなど）。確認してください。',
        en: 'Some input is not valid (too long, out of range or in the wrong format). Please check it.',
    },
    missing_field: { ja: '必要な項目が入力されていません。', en: 'A required field is missing.' },
    invalid_query: { ja: '検索の条件が正しくありません。', en: 'The search terms are not valid.' },
    invalid_idempotency_key: {
        ja: '要求の識別キーが正しくありません。画面を再読み込みしてください。',
        en: 'The request key is not valid. Reload the page.',
    },
    invalid_encoding: {
        ja: '使えない文字が含まれています。入力を確認してください。',
        en: 'The input contains characters that cannot be used.',
    },
    // Who may do what (401, 403, 404, 405)
    unauthorized: { ja: 'トークンが無効です。正しいトークンを入力してください。', en: 'The token is not valid. Enter a valid token.' },
    forbidden: { ja: 'このトークンでは、この操作はできません。', en: 'This token may not do that.' },
    not_found: { ja: '該当するデータが見つかりません。', en: 'Not found.' },
    method_not_allowed: { ja: 'この操作はできません。', en: 'This operation is not available.' },
    // Transport (408, 413, 417, 431, 505)
    request_timeout: { ja: '送信に時間がかかりすぎました。もう一度お試しください。', en: 'The request took too long. Try again.' },
    payload_too_large: { ja: '送信する内容が大きすぎます。', en: 'What was sent is too large.' },
    expectation_failed: { ja: '要求の形式が正しくありません。', en: 'The request is malformed.' },
    headers_too_large: { ja: '要求が大きすぎます。', en: 'The request is too large.' },
    http_version_not_supported: { ja: '通信の方式に対応していません。', en: 'The protocol version is not supported.' },
    // Bookings (409)
    no_availability: {
        ja: 'ご希望の時刻に運行できる車両がありません。',
        en: 'No van can take this trip.',
    },
    offer_expired: {
        ja: 'ご提案の保留時間が過ぎました。もう一度空き確認をしてください。',
        en: 'The offer has expired. Ask again.',
    },
    invalid_state: {
        ja: 'この予約は現在の状態では変更できません（終了・取消済みなど）。',
        en: 'The booking cannot be changed in its present state (finished, cancelled, ...).',
    },
    idempotency_in_progress: {
        ja: '前の操作を処理中です。少し待ってからもう一度お試しください。',
        en: 'The previous request is still being processed. Try again in a moment.',
    },
    idempotency_key_reused: {
        ja: '同じ操作が別の内容で送られました。画面を再読み込みしてください。',
        en: 'The same request key was used for something else. Reload the page.',
    },
    duplicate_rider: {
        ja: '同じ電話番号・氏名の利用者がすでに登録されています。検索して選んでください。',
        en: 'A rider with the same phone and name is already registered. Search and choose them.',
    },
    // Places, riders, times (422)
    unknown_stop: { ja: 'その停留所はありません。', en: 'There is no such stop.' },
    out_of_area: { ja: '運行区域の外です。近くの停留所を選んでください。', en: 'That place is outside the service area. Choose a stop nearby.' },
    same_place: { ja: '乗車と降車が同じ停留所です。', en: 'Pickup and drop-off are the same stop.' },
    unknown_rider: { ja: 'その利用者は登録されていません。', en: 'That rider is not registered.' },
    unknown_vehicle: { ja: 'その車両はありません。', en: 'There is no such van.' },
    invalid_time: {
        ja: '「今すぐ」は本日のみです。別の日は時刻を指定してください。',
        en: '"Now" is for today only. Give a time for another day.',
    },
    time_in_past: { ja: '指定の日時はすでに過ぎています。', en: 'That time has already passed.' },
    too_far_ahead: { ja: 'その日はまだ予約を受け付けていません。', en: 'That day is too far ahead to book yet.' },
    invalid_request: { ja: 'この内容では予約できません。条件を見直してください。', en: 'The trip cannot be booked as given.' },
    // Booking rules
    too_late_prior_day: {
        ja: '前日の受付締切を過ぎたため、この日の予約はできません。',
        en: 'The cut-off on the day before has passed: this day can no longer be booked.',
    },
    too_soon: {
        ja: '出発までの時間が短すぎます。もう少し後の時刻を指定してください。',
        en: 'That is too soon: book a later time.',
    },
    not_a_service_day: { ja: 'その日は運行日ではありません。', en: 'The service does not run on that day.' },
    rider_daily_limit: {
        ja: 'この方のその日の予約は上限に達しています。',
        en: 'This rider already has as many trips that day as allowed.',
    },
    overlap: {
        ja: 'この方は同じ時間帯にすでに予約があります。',
        en: 'This rider already has a trip at that time.',
    },
    // The daemon itself (500, 503)
    internal: {
        ja: 'サーバーで問題が発生しました。何も変更されていません。もう一度お試しください。',
        en: 'Something went wrong on the server. Nothing was changed. Try again.',
    },
    busy: { ja: '混み合っています。少し待ってからもう一度お試しください。', en: 'The server is busy. Try again in a moment.' },
    store_unavailable: {
        ja: 'データベースに接続できません。少し待ってからもう一度お試しください。',
        en: 'The database cannot be reached. Try again in a moment.',
    },
    unavailable: {
        ja: 'ただいま受け付けできません。少し待ってからもう一度お試しください。',
        en: 'The service cannot take this now. Try again in a moment.',
    },
    // The driver channel (seen only by a misconfigured page)
    upgrade_required: { ja: '通信の方式が正しくありません。', en: 'The connection is not a WebSocket.' },
    bad_upgrade: { ja: '通信の方式が正しくありません。', en: 'The connection is not a WebSocket.' },
    bad_websocket_key: { ja: '通信の方式が正しくありません。', en: 'The connection is not a WebSocket.' },
    unsupported_websocket_version: { ja: '通信の方式に対応していません。', en: 'The WebSocket version is not supported.' },
};

// Why no van can take a trip (the "reason" of no_availability and of a
// quote or a rejected booking).
export const REASONS = {
    no_vehicle: { ja: 'その時間に運行している車両がありません', en: 'no van in service then' },
    capacity: { ja: '満席です', en: 'the vans are full' },
    ride_time: { ja: '乗車時間が長くなりすぎます', en: 'the ride would be too long' },
    window: { ja: 'ご希望の時間に間に合いません', en: 'no van can be there in time' },
    out_of_hours: { ja: '運行時間外です', en: 'outside the service hours' },
    vehicle_lost: { ja: '車両が運行できなくなりました', en: 'the van left service' },
    too_late_prior_day: { ja: '前日の受付締切を過ぎています', en: "past the day before's cut-off" },
    too_soon: { ja: '出発までの時間が短すぎます', en: 'too soon' },
    too_far_ahead: { ja: 'まだ予約を受け付けていない日です', en: 'too far ahead' },
    not_a_service_day: { ja: '運行日ではありません', en: 'not a service day' },
    rider_daily_limit: { ja: 'その日の予約の上限に達しています', en: "the rider's daily limit is reached" },
    overlap: { ja: '同じ時間帯に別の予約があります', en: 'overlaps another trip of the rider' },
};

// The sentence for an error code; `serverMessage` is used only on an
// English screen for a code the table does not know.
export function errorMessage(code, lang, serverMessage) {
    const e = ERRORS[code];
    if (e) {
        return e[lang] || e.en;
    }
    if (lang === 'ja') {
        return `エラーが発生しました。もう一度お試しください。続く場合は管理者にお問い合わせください（コード: ${code || '不明'}）。`;
    }
    const detail = serverMessage ? ` (${serverMessage})` : '';
    return `Something went wrong. Try again; if it persists, tell the administrator (code: ${code || 'unknown'})${detail}.`;
}

// The words for a reason of a refused trip ('' for none); an unknown one
// is shown as it is on an English screen and as a general phrase in
// Japanese.
export function reasonText(reason, lang) {
    if (!reason) {
        return '';
    }
    const r = REASONS[reason] || ERRORS[reason];
    if (r) {
        return r[lang] || r.en;
    }
    return lang === 'ja' ? '条件が合いません' : reason;
}
