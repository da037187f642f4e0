//! The reception page's HTML, written here (no template engine, no build step): every value is
//! escaped on its way in ([`esc`]). The patient's page is drawn from the API's own JSON answer,
//! so the page and `GET /v1/subsidy-checks?reference=` cannot disagree.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::date::jst;
use crate::service::{Alert, BoardRow, RowStatus};

/// Text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A path segment (a 照会番号 in a link).
pub fn seg(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst()).format("%H:%M").to_string()
}

/// The page around `main`: title, the header with the signed-in client and sign-out.
pub fn page(title: &str, signed_in: Option<(&str, &str)>, main: &str) -> String {
    let nav = match signed_in {
        Some((client, csrf)) => format!(
            r#"<nav aria-label="メニュー"><a href="/reception">受付一覧</a> <a href="/reception/health">ゲートウェイの状態</a>
<form method="post" action="/reception/sign-out" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit">サインアウト（{}）</button></form></nav>"#,
            esc(csrf),
            esc(client)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — pmh-gateway</title><link rel="stylesheet" href="/reception/assets/reception.css">
<script src="/reception/assets/reception.js" defer></script></head>
<body><header><span class="brand">公費受付</span>{nav}</header>
<main id="main">{main}</main></body></html>"#,
        title = esc(title),
    )
}

pub fn sign_in(csrf: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!(r#"<p class="alert" role="alert">{}</p>"#, esc(p)))
        .unwrap_or_default();
    page(
        "サインイン",
        None,
        &format!(
            r#"<h1>サインイン</h1>{problem}
<form method="post" action="/reception/sign-in" class="card">
<input type="hidden" name="csrf" value="{}">
<label for="token">受付用トークン（<code>reception</code> 権限のクライアント）</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">サインイン</button></form>
<p class="note">患者の氏名は表示されません。照会番号で照合してください。</p>"#,
            esc(csrf)
        ),
    )
}

fn status_text(r: &BoardRow) -> String {
    match r.status {
        RowStatus::Pending => "取得中".into(),
        RowStatus::Subsidies => format!("公費あり：{}", r.subsidies.join("・")),
        RowStatus::NoneFound => "情報なし（紙の受給者証を確認）".into(),
        RowStatus::Expired => "期限切れ（紙の受給者証を確認）".into(),
        RowStatus::NotYetValid => "有効期間前（紙の受給者証を確認）".into(),
        RowStatus::Unavailable => {
            "取得できません（PMHに接続できません・紙の受給者証を確認）".into()
        }
    }
}

fn status_class(s: RowStatus) -> &'static str {
    match s {
        RowStatus::Pending => "pending",
        RowStatus::Subsidies => "subsidies",
        RowStatus::NoneFound | RowStatus::Expired | RowStatus::NotYetValid => "none",
        RowStatus::Unavailable => "unavailable",
    }
}

/// The row's value for the list's status filter: 公費あり (nothing to check), 要確認 (a warning,
/// or certificates none of which is in force, or PMH unreachable), 情報なし, or 取得中.
fn filter_status(r: &BoardRow) -> &'static str {
    match r.status {
        RowStatus::Pending => "pending",
        RowStatus::NoneFound => "none",
        RowStatus::Subsidies if r.alerts.is_empty() => "subsidies",
        RowStatus::Subsidies
        | RowStatus::Expired
        | RowStatus::NotYetValid
        | RowStatus::Unavailable => "check",
    }
}

fn alert_text(a: Alert) -> &'static str {
    match a {
        Alert::Expired => "期限切れ",
        Alert::NotDesignated => "指定医療機関外",
        Alert::ReimbursementOnly => "償還払いのみ",
        Alert::SingleOnlyCombined => "単独公費の併用",
        Alert::Stale => "前回の情報（PMHに接続できません）",
        Alert::Other => "要確認",
    }
}

/// One row of the list (also what the live feed sends).
pub fn row(r: &BoardRow) -> String {
    row_updated(r, None)
}

/// A row as the live feed sends it: with the time of the change in JST, by the server's clock
/// (the page shows it; the browser's own clock may be another).
pub fn row_at(r: &BoardRow, updated: DateTime<Utc>) -> String {
    row_updated(r, Some(updated))
}

fn row_updated(r: &BoardRow, updated: Option<DateTime<Utc>>) -> String {
    let updated = updated.map_or_else(String::new, |t| {
        format!(
            r#" data-updated="{}""#,
            t.with_timezone(&jst()).format("%H:%M:%S")
        )
    });
    let alerts: String = r
        .alerts
        .iter()
        .map(|a| format!(r#"<span class="tag">{}</span>"#, alert_text(*a)))
        .collect();
    format!(
        r#"<tr data-ref="{reference}" data-seq="{seq}" data-status="{filter}"{updated} class="{class}"><td>{time}</td><td class="ref"><a href="/reception/patients/{link}">{reference}</a></td><td class="status">{status}</td><td>{alerts}</td></tr>"#,
        reference = esc(&r.reference),
        seq = r.seq,
        class = status_class(r.status),
        filter = filter_status(r),
        time = hhmm(r.arrived_at),
        link = seg(&r.reference),
        status = esc(&status_text(r)),
    )
}

pub fn list(day: &str, rows: &[std::sync::Arc<BoardRow>]) -> String {
    let body: String = rows.iter().map(|r| row(r)).collect();
    format!(
        r#"<h1>本日の受付 <small>{day}</small></h1>
<p class="note" id="live" aria-live="polite">カードが読み取られると自動で追加されます。</p>
<div class="filter" role="search"><label>照会番号で絞り込み <input type="search" id="filter" inputmode="numeric" autocomplete="off"></label>
<label>状態 <select id="filter-status"><option value="">すべて</option><option value="subsidies">公費あり</option><option value="check">要確認</option><option value="none">情報なし</option></select></label></div>
<table class="board"><thead><tr><th scope="col">時刻</th><th scope="col">照会番号</th><th scope="col">公費</th><th scope="col">確認事項</th></tr></thead>
<tbody id="rows">{body}</tbody></table>
<p class="note" id="empty"{hidden}>まだ受付はありません。</p>"#,
        day = esc(day),
        hidden = if rows.is_empty() { "" } else { " hidden" },
    )
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn yen(v: &Value) -> Option<String> {
    let n = v.as_u64()?;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    Some(format!("{out}円"))
}

/// What a flag means for the clerk at the window, in one line (for the flags that change what
/// happens there).
fn flag_explained(f: &str) -> Option<&'static str> {
    match f {
        "reimbursement_only" => Some(
            "償還払いのみ：この公費は窓口では使えません。保険の自己負担分を窓口でお支払いいただき、患者さんが後日、実施機関に請求します。",
        ),
        "designated_institution_mismatch" => Some(
            "指定医療機関外：当院はこの受給者証の指定医療機関ではないため、この公費は使えません。受給者証の医療機関欄を確認してください。",
        ),
        _ => None,
    }
}

fn flag_text(f: &str) -> &str {
    match f {
        "reimbursement_only" => "償還払いのみ",
        "not_disclosed" => "不開示項目あり",
        "designated_institution_limited" => "指定医療機関あり",
        "designated_institution_mismatch" => "指定医療機関外",
        "single_only" => "単独公費",
        other => other,
    }
}

fn warning_text(w: &Value) -> String {
    let ja = match s(w, "code") {
        "designated_institution_mismatch" => Some("当院は指定医療機関に含まれていません"),
        "single_only_combined" => Some("単独で請求する公費が他の公費と併用されています"),
        "payer_number_check_digit" => Some("公費負担者番号の検証番号が合いません"),
        "recipient_number_check_digit" => Some("受給者番号の検証番号が合いません"),
        "cap_unknown" => Some("上限額が不明です（受給者証を確認）"),
        "cap_conflict" => Some("受給者証とマスタの上限額が異なります（受給者証を優先）"),
        "unknown_programme" => Some("マスタにない公費です"),
        "setting_not_covered" => Some("この受診区分は対象外です"),
        "certificate_field_unreadable" => Some("読み取れない項目があります"),
        _ => None,
    };
    match ja {
        Some(j) => format!("{j}（{}）", esc(s(w, "message"))),
        None => esc(s(w, "message")),
    }
}

fn copy_button(label: &str, value: &str) -> String {
    if value.is_empty() {
        return "—".into();
    }
    format!(
        r#"<span class="num">{v}</span> <button type="button" class="copy" data-copy="{v}" aria-label="{l}をコピー">コピー</button>"#,
        v = esc(value),
        l = esc(label)
    )
}

/// A programme under which the patient pays nothing (生活保護 without a 本人支払額, a free
/// programme, a monthly cap of 0): no share or cap to show, which would read as a
/// contradiction ("2割" beside "月 0円").
fn nothing_to_pay(c: &Value) -> bool {
    s(c, "method") == "free" || c["caps"]["per_month"].as_u64() == Some(0)
}

fn caps(c: &Value) -> String {
    if nothing_to_pay(c) {
        return "自己負担なし".into();
    }
    let caps = &c["caps"];
    let part = |k: &str, name: &str| yen(&caps[k]).map(|y| format!("{name} {y}"));
    let list: Vec<String> = [("per_visit", "回"), ("per_day", "日"), ("per_month", "月")]
        .iter()
        .filter_map(|(k, n)| part(k, n))
        .collect();
    if list.is_empty() {
        "なし".into()
    } else {
        list.join("・")
    }
}

fn share(c: &Value) -> String {
    if nothing_to_pay(c) {
        return "自己負担なし".into();
    }
    let fixed = |per: &str| {
        yen(&c["amount_yen"]).map_or_else(|| format!("定額（{per}）"), |y| format!("{per} {y}"))
    };
    match s(c, "method") {
        "rate" => c["rate_percent"].as_u64().map_or_else(
            || "—".into(),
            |p| format!("{}割", p as f64 / 10.0).replace(".0割", "割"),
        ),
        "copay_rate" => c["rate_percent"]
            .as_u64()
            .map_or_else(|| "—".into(), |p| format!("自己負担の{p}%")),
        "per_visit" => fixed("1回"),
        "per_day" => fixed("1日"),
        "free" => "負担なし".into(),
        other => esc(other),
    }
}

/// The subsidy's month from the ledger, and the 管理票 form when its monthly cap is shared (with
/// the session's CSRF token; `None`: the client may not add amounts — scope `charges`).
/// One line of a 自己負担上限額管理票: a visit here (`institution` `None`) or another
/// institution's amount.
pub struct SheetLine {
    pub date: chrono::NaiveDate,
    pub institution: Option<String>,
    pub total_cost: Option<u64>,
    pub amount: u64,
}

/// The month's 管理票 per (payer number, recipient number); `Err` when it could not be read.
pub type Sheets = std::collections::HashMap<(String, String), Result<Vec<SheetLine>, ()>>;

/// The month's 管理票 as the paper form has it: 日付, 医療機関名, 医療費総額, 自己負担額, 累積額.
fn sheet_table(sub: &Value, sheets: &Sheets) -> String {
    let key = (
        s(sub, "payer_number").to_owned(),
        s(sub, "recipient_number").to_owned(),
    );
    let lines = match sheets.get(&key) {
        None => return String::new(),
        Some(Err(())) => {
            return r#"<p class="alert" role="alert">管理票（当院の記録）を読み込めません。しばらくしてから開き直してください。</p>"#.into();
        }
        Some(Ok(lines)) => lines,
    };
    if lines.is_empty() {
        return String::new();
    }
    let mut running = 0u64;
    let rows: String = lines
        .iter()
        .map(|l| {
            running += l.amount;
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                l.date.format("%m/%d"),
                esc(l
                    .institution
                    .as_deref()
                    .map_or("当院", |i| if i.is_empty() { "—" } else { i })),
                l.total_cost
                    .and_then(|c| yen(&Value::from(c)))
                    .unwrap_or_else(|| "—".into()),
                yen(&Value::from(l.amount)).unwrap_or_default(),
                yen(&Value::from(running)).unwrap_or_default(),
            )
        })
        .collect();
    format!(
        r#"<table class="kanrihyo"><caption>自己負担上限額管理票（今月）</caption><thead><tr><th scope="col">日付</th><th scope="col">医療機関名</th><th scope="col">医療費総額</th><th scope="col">自己負担額</th><th scope="col">累積額</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

fn ledger_panel(
    sub: &Value,
    reference: &str,
    csrf: Option<&str>,
    today: &str,
    sheets: &Sheets,
) -> String {
    if sub["copay"]["monthly_cap_shared"] != Value::Bool(true) {
        return String::new();
    }
    let table = sheet_table(sub, sheets);
    let month = &sub["month_to_date"];
    let totals = if month.is_object() {
        format!(
            r#"<p class="mtd" data-total="{t}">今月（{m}）の自己負担累計：<strong>{total}</strong>（当院 {own}・他機関 {others}）{rest}</p>"#,
            t = month["total"].as_u64().unwrap_or(0),
            m = esc(s(month, "month")),
            total = yen(&month["total"]).unwrap_or_default(),
            own = yen(&month["own"]).unwrap_or_default(),
            others = yen(&month["others"]).unwrap_or_default(),
            rest = yen(&month["remaining"])
                .map(|r| format!("・残り {r}"))
                .unwrap_or_default(),
        )
    } else {
        r#"<p class="mtd" data-total="0">今月の記録はまだありません。</p>"#.into()
    };
    let Some(csrf) = csrf else {
        return format!(
            r#"<section class="ledger" aria-label="上限額管理">{totals}{table}<p class="note">管理票の金額の入力には <code>charges</code> 権限のあるクライアントでサインインしてください。</p></section>"#
        );
    };
    let cap = sub["copay"]["caps"]["per_month"]
        .as_u64()
        .map(|c| format!(r#"<input type="hidden" name="monthly_cap" value="{c}">"#))
        .unwrap_or_default();
    format!(
        r#"<section class="ledger" aria-label="上限額管理">{totals}{table}
<form method="post" action="/reception/patients/{link}/ledger-entries" class="entry">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="payer_number" value="{payer}">
<input type="hidden" name="recipient_number" value="{recipient}">{cap}
<fieldset><legend>自己負担上限額管理票から入力</legend>
<label>日付 <input type="date" name="date" value="{today}" required></label>
<label>金額（円） <input type="number" name="amount" min="0" step="1" required inputmode="numeric"></label>
<label>区分 <select name="care"><option value="outpatient">外来</option><option value="inpatient">入院</option></select></label>
<label>医療機関 <input type="text" name="institution" maxlength="40"></label>
<button type="submit">追加</button></fieldset></form></section>"#,
        link = seg(reference),
        csrf = esc(csrf),
        payer = esc(s(sub, "payer_number")),
        recipient = esc(s(sub, "recipient_number")),
        today = esc(today),
    )
}

fn subsidy(
    sub: &Value,
    reference: &str,
    csrf: Option<&str>,
    today: &str,
    print: bool,
    sheets: &Sheets,
) -> String {
    let c = &sub["copay"];
    let institutions: Vec<String> = sub["designated_institutions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let name = s(i, "name");
            if name.is_empty() {
                esc(s(i, "code"))
            } else {
                format!("{} {}", esc(s(i, "code")), esc(name))
            }
        })
        .collect();
    let flags: Vec<String> = sub["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|f| format!(r#"<span class="tag">{}</span>"#, esc(flag_text(f))))
        .collect();
    let warnings: String = sub["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| format!("<li>{}</li>", warning_text(w)))
        .collect();
    let warnings = if warnings.is_empty() {
        String::new()
    } else {
        format!(r#"<ul class="warnings" role="list">{warnings}</ul>"#)
    };
    let validity = format!(
        "{} 〜 {}",
        esc(s(sub, "valid_from")),
        esc(s(sub, "valid_to"))
    );
    let order = sub["order"].as_u64().unwrap_or(0);
    let name = match s(sub, "programme_short_name") {
        "" => s(sub, "programme_name"),
        n => n,
    };
    // In print, the month's 管理票 as its table (no form).
    let panel = if print {
        sheet_table(sub, sheets)
    } else {
        ledger_panel(sub, reference, csrf, today, sheets)
    };
    format!(
        r#"<section class="subsidy" data-order="{order}"><h2>第{order}公費　{name} <small>{full}</small></h2>
<dl>
<dt>公費負担者番号</dt><dd data-field="payer_number">{payer}</dd>
<dt>受給者番号</dt><dd data-field="recipient_number">{recipient}</dd>
<dt>有効期間</dt><dd>{validity}</dd>
<dt>負担割合</dt><dd data-field="share">{share}</dd>
<dt>上限額</dt><dd data-field="caps">{caps}{shared}</dd>
<dt>所得区分</dt><dd>{income}</dd>
<dt>指定医療機関</dt><dd>{institutions}</dd>
<dt>注意</dt><dd>{flags}</dd>
</dl>{warnings}{panel}</section>"#,
        name = esc(name),
        full = esc(s(sub, "programme_name")),
        payer = copy_button("公費負担者番号", s(sub, "payer_number")),
        recipient = copy_button("受給者番号", s(sub, "recipient_number")),
        share = share(c),
        caps = caps(c),
        shared = if c["monthly_cap_shared"] == Value::Bool(true) {
            "（他機関と合算）"
        } else {
            ""
        },
        income = esc(match s(sub, "income_segment") {
            "" => "—",
            i => i,
        }),
        institutions = if institutions.is_empty() {
            "指定なし".into()
        } else {
            institutions.join("、")
        },
        flags = if flags.is_empty() {
            "—".into()
        } else {
            let explained: String = sub["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(flag_explained)
                .map(|line| format!(r#"<p class="explain">{}</p>"#, esc(line)))
                .collect();
            flags.concat() + &explained
        },
    )
}

/// The 負担区分 of this visit: every active subsidy, with insurance when it is not 公費のみ.
fn visit_burden(answer: &Value) -> String {
    let active = answer["subsidies"].as_array().map_or(0, Vec::len);
    let codes = answer["burden_codes"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let wanted = |with_insurance: bool| {
        codes.iter().find(|b| {
            let payers = b["payers"].as_array().map_or(0, Vec::len);
            let insured = b["payers"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x == "insurance"));
            insured == with_insurance && payers == active + usize::from(with_insurance)
        })
    };
    match wanted(true).or_else(|| wanted(false)) {
        Some(b) if active > 0 => format!("{}（{}）", esc(s(b, "code")), esc(s(b, "label"))),
        _ => "—".into(),
    }
}

/// One patient's page (or its print view) from the API's JSON answer; `ledger_csrf` is the
/// session's CSRF token when the client may add 管理票 amounts.
pub fn patient(
    answer: &Value,
    reference: &str,
    ledger_csrf: Option<&str>,
    today: &str,
    setting: &str,
    print: bool,
    sheets: &Sheets,
) -> String {
    let subsidies = answer["subsidies"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let inactive_list = answer["inactive_subsidies"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let only = |status: &str| {
        !inactive_list.is_empty() && inactive_list.iter().all(|i| s(i, "status") == status)
    };
    let status = match s(answer, "status") {
        "confirmed" if subsidies.is_empty() && only("expired") => "期限切れ（紙の受給者証を確認）",
        "confirmed" if subsidies.is_empty() && only("not_yet_valid") => {
            "有効期間前（紙の受給者証を確認）"
        }
        "confirmed" if subsidies.is_empty() => "公費の適用はありません（期限切れ・対象外を含む）",
        "confirmed" => "公費あり",
        "none_found" => "情報なし（紙の受給者証を確認）",
        "unavailable" => "取得できません（PMHに接続できません・紙の受給者証を確認）",
        _ => "不明",
    };
    let stale = if s(answer, "source") == "stale" {
        r#"<p class="alert" role="alert">PMHに接続できないため、前回確認した情報です。</p>"#
    } else {
        ""
    };
    let body: String = subsidies
        .iter()
        .map(|sub| subsidy(sub, reference, ledger_csrf, today, print, sheets))
        .collect();
    let inactive: String = answer["inactive_subsidies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|sub| {
            let why = match s(sub, "status") {
                "expired" => "期限切れ",
                "not_yet_valid" => "有効期間前",
                _ => "有効期間不明",
            };
            format!(
                "<li>{} {} — {why}（{} 〜 {}）</li>",
                esc(s(sub, "programme_short_name")),
                esc(s(sub, "payer_number")),
                esc(s(sub, "valid_from")),
                esc(s(sub, "valid_to"))
            )
        })
        .collect();
    let inactive = if inactive.is_empty() {
        String::new()
    } else {
        format!(
            r#"<section class="inactive"><h2>適用外の受給者証</h2><ul>{inactive}</ul></section>"#
        )
    };
    let settings = if print {
        String::new()
    } else {
        let opt = |v: &str, label: &str| {
            let sel = if v == setting { " selected" } else { "" };
            format!(r#"<option value="{v}"{sel}>{label}</option>"#)
        };
        format!(
            r#"<form method="get" class="setting"><label>受診区分 <select name="setting">{}{}{}</select></label> <button type="submit">表示</button>
<a class="button" href="/reception/patients/{}/print?setting={}">印刷用</a></form>"#,
            opt("outpatient", "医科・外来"),
            opt("inpatient", "医科・入院"),
            opt("pharmacy", "調剤"),
            seg(reference),
            esc(setting),
        )
    };
    format!(
        r#"<article class="patient{print_class}"><h1>照会番号 <span class="num" id="reference">{reference}</span></h1>
<p class="summary"><strong>{status}</strong>　受診日 {date}　レセプト種別 <span data-field="receipt_type">{receipt}</span>　この受診の負担区分 <span data-field="burden">{burden}</span></p>
{stale}{settings}{body}{inactive}
<p class="note">確認ID {check_id}</p><details class="note"><summary>マスタの版</summary><p>{masters}</p></details></article>"#,
        print_class = if print { " print" } else { "" },
        reference = esc(reference),
        date = esc(s(answer, "service_date")),
        receipt = esc(match s(answer, "receipt_type") {
            "" => "—",
            r => r,
        }),
        burden = visit_burden(answer),
        check_id = esc(s(answer, "check_id")),
        masters = esc(&s(answer, "masters_version").replace(',', "、")),
    )
}

/// The gateway's health for the clinic's IT person: name, value, and whether it is fine; the
/// masters' versions (long, for whoever updates them) behind a toggle.
pub fn health(items: &[(String, String, bool)], masters: &str) -> String {
    let rows: String = items
        .iter()
        .map(|(k, v, ok)| {
            format!(
                r#"<tr class="{}"><th scope="row">{}</th><td>{}</td></tr>"#,
                if *ok { "ok" } else { "bad" },
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        r#"<h1>ゲートウェイの状態</h1><table class="health"><tbody>{rows}</tbody></table>
<details class="note"><summary>マスタの版（ファイルごと）</summary><p>{}</p></details>"#,
        esc(&masters.replace(',', "、"))
    )
}

/// A message page (not found, refused, …).
pub fn message(title: &str, text: &str) -> String {
    format!(
        r#"<h1>{}</h1><p>{}</p><p><a href="/reception">受付一覧へ</a></p>"#,
        esc(title),
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_yen_grouped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(seg("A 1/é"), "A%201%2F%C3%A9");
        assert_eq!(yen(&serde_json::json!(1234567)).unwrap(), "1,234,567円");
        assert_eq!(yen(&serde_json::json!(500)).unwrap(), "500円");
        assert_eq!(
            share(&serde_json::json!({"method": "rate", "rate_percent": 10})),
            "1割"
        );
        assert_eq!(
            share(&serde_json::json!({"method": "rate", "rate_percent": 15})),
            "1.5割"
        );
    }

    #[test]
    fn the_flags_that_change_the_window_are_explained() {
        assert!(
            flag_explained("reimbursement_only")
                .unwrap()
                .contains("窓口では使えません")
        );
        assert!(
            flag_explained("designated_institution_mismatch")
                .unwrap()
                .contains("指定医療機関ではない")
        );
        assert_eq!(flag_explained("single_only"), None);
    }

    #[test]
    fn a_programme_with_nothing_to_pay_says_so_once() {
        // 生活保護 without a 本人支払額: the master's rate beside a monthly cap of 0 read as a
        // contradiction ("2割" and "月 0円"); both fields say 自己負担なし.
        let welfare = serde_json::json!({"method": "rate", "rate_percent": 20,
            "caps": {"per_visit": null, "per_day": null, "per_month": 0}});
        assert_eq!(
            (share(&welfare), caps(&welfare)),
            ("自己負担なし".into(), "自己負担なし".into())
        );
        let free = serde_json::json!({"method": "free", "caps": {}});
        assert_eq!(share(&free), "自己負担なし");
        let capped = serde_json::json!({"method": "rate", "rate_percent": 20,
            "caps": {"per_month": 5000}});
        assert_eq!(
            (share(&capped), caps(&capped)),
            ("2割".into(), "月 5,000円".into())
        );
    }
}
