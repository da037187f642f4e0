//! The reception page's HTML, through maud templates (every value escaped by the engine) from
//! typed models: the board's rows, the API's own typed answer ([`SubsidyCheckResponse`], so the
//! page and `GET /v1/subsidy-checks?reference=` cannot disagree and a renamed field does not
//! compile), the person of the check-in, and the health items.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::api::dto::{CapsDto, CopayDto, SubsidyCheckResponse, SubsidyDto, WarningDto};
use crate::api::vocab::{AnswerSource, AnswerStatus, CopayMethodDto, FlagDto, SubsidyStatusDto};
use crate::domain::PatientDetails;
use crate::domain::date::jst;
use crate::service::{Alert, BoardRow, RowStatus};

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

/// Yen with thousands separators: `1,234円`.
fn yen(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push('円');
    out
}

/// The page around `main`: title, the header with the signed-in client and sign-out.
pub fn page(title: &str, signed_in: Option<(&str, &str)>, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — pmh-gateway" }
                link rel="stylesheet" href="/reception/assets/reception.css";
                script src="/reception/assets/reception.js" defer {}
            }
            body {
                header {
                    span.brand { "公費受付" }
                    @if let Some((client, csrf)) = signed_in {
                        nav aria-label="メニュー" {
                            a href="/reception" { "受付一覧" }
                            a href="/reception/receipts" { "月次点検" }
                            a href="/reception/health" { "ゲートウェイの状態" }
                            form.inline method="post" action="/reception/sign-out" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "サインアウト（" (client) "）" }
                            }
                        }
                    }
                }
                main #main { (main) }
            }
        }
    }
    .into_string()
}

pub fn sign_in(csrf: &str, problem: Option<&str>) -> String {
    page(
        "サインイン",
        None,
        html! {
            h1 { "サインイン" }
            @if let Some(p) = problem { p.alert role="alert" { (p) } }
            form.card method="post" action="/reception/sign-in" {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "受付用トークン（" code { "reception" } " 権限のクライアント）" }
                input #token name="token" type="password" autocomplete="off" required autofocus;
                button type="submit" { "サインイン" }
            }
            p.note { "患者の氏名・生年月日は、受付用にサインインした画面にだけ表示されます。" }
        },
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

/// A birthdate as the clerk reads it, with the age on `today`: `1980/04/01（46歳）`.
fn birthdate(d: NaiveDate, today: Option<NaiveDate>) -> String {
    let shown = d.format("%Y/%m/%d").to_string();
    match today.and_then(|t| t.years_since(d)) {
        Some(age) => format!("{shown}（{age}歳）"),
        None => shown,
    }
}

/// The person's name (kanji over kana), as the result file gives them.
fn person_name(p: Option<&PatientDetails>) -> Markup {
    html! {
        @match p {
            Some(p) => {
                span.name lang="ja" { (p.name.as_deref().unwrap_or("（氏名なし）")) }
                @if let Some(k) = &p.kana { br; small.kana { (k) } }
            }
            None => { span.note { "—" } }
        }
    }
}

/// One row of the list (also what the live feed sends); `updated` is the time of the change
/// in JST by the server's clock (the page shows it; the browser's own clock may be another).
fn row_markup(r: &BoardRow, updated: Option<DateTime<Utc>>) -> Markup {
    let p = r.person.as_ref();
    let today = Some(r.service_date.date());
    html! {
        tr data-ref=(r.reference) data-seq=(r.seq) data-status=(filter_status(r))
            data-kana=[p.and_then(|p| p.kana.as_deref()).map(PatientDetails::search_kana)]
            data-name=[p.and_then(|p| p.name.as_deref())]
            data-updated=[updated.map(|t| t.with_timezone(&jst()).format("%H:%M:%S").to_string())]
            class=(status_class(r.status)) {
            td { (hhmm(r.arrived_at)) }
            td.person { (person_name(p)) }
            td {
                @if let Some(p) = p {
                    (p.sex.map_or("—", crate::domain::Sex::label_ja)) br;
                    small { (birthdate(p.birthdate, today)) }
                }
            }
            td.ref { a href={ "/reception/patients/" (seg(&r.reference)) } { (r.reference) } }
            td.status { (status_text(r)) }
            td { @for a in &r.alerts { span.tag { (alert_text(*a)) } } }
        }
    }
}

pub fn row(r: &BoardRow) -> Markup {
    row_markup(r, None)
}

/// A row as the live feed sends it, with the time of the change.
pub fn row_at(r: &BoardRow, updated: DateTime<Utc>) -> String {
    row_markup(r, Some(updated)).into_string()
}

pub fn list(day: &str, rows: &[std::sync::Arc<BoardRow>]) -> Markup {
    html! {
        h1 { "本日の受付 " small { (day) } }
        p.note #live aria-live="polite" { "カードが読み取られると自動で追加されます。" }
        div.filter role="search" {
            label { "カナ・照会番号で絞り込み " input type="search" #filter autocomplete="off"; }
            label { "状態 "
                select #filter-status {
                    option value="" { "すべて" }
                    option value="subsidies" { "公費あり" }
                    option value="check" { "要確認" }
                    option value="none" { "情報なし" }
                }
            }
        }
        table.board {
            thead { tr {
                th scope="col" { "時刻" }
                th scope="col" { "氏名" }
                th scope="col" { "性別・生年月日" }
                th scope="col" { "照会番号" }
                th scope="col" { "公費" }
                th scope="col" { "確認事項" }
            } }
            tbody #rows { @for r in rows { (row(r)) } }
        }
        p.note #empty hidden[!rows.is_empty()] { "まだ受付はありません。" }
    }
}

/// What a flag means for the clerk at the window, in one line (for the flags that change what
/// happens there).
fn flag_explained(f: FlagDto) -> Option<&'static str> {
    match f {
        FlagDto::ReimbursementOnly => Some(
            "償還払いのみ：この公費は窓口では使えません。保険の自己負担分を窓口でお支払いいただき、患者さんが後日、実施機関に請求します。",
        ),
        FlagDto::DesignatedInstitutionMismatch => Some(
            "指定医療機関外：当院はこの受給者証の指定医療機関ではないため、この公費は使えません。受給者証の医療機関欄を確認してください。",
        ),
        _ => None,
    }
}

fn flag_text(f: FlagDto) -> &'static str {
    match f {
        FlagDto::ReimbursementOnly => "償還払いのみ",
        FlagDto::NotDisclosed => "不開示項目あり",
        FlagDto::DesignatedInstitutionLimited => "指定医療機関あり",
        FlagDto::DesignatedInstitutionMismatch => "指定医療機関外",
        FlagDto::SingleOnly => "単独公費",
    }
}

fn warning_text(w: &WarningDto) -> String {
    format!("{}（{}）", w.message_ja, w.message)
}

fn copy_button(label: &str, value: &str) -> Markup {
    html! {
        @if value.is_empty() { "—" } @else {
            span.num { (value) } " "
            button.copy type="button" data-copy=(value) aria-label={ (label) "をコピー" } { "コピー" }
        }
    }
}

/// A programme under which the patient pays nothing (生活保護 without a 本人支払額, a free
/// programme, a monthly cap of 0): no share or cap to show, which would read as a
/// contradiction ("2割" beside "月 0円").
fn nothing_to_pay(c: &CopayDto) -> bool {
    c.method == Some(CopayMethodDto::Free) || c.caps.per_month == Some(0)
}

fn caps(c: &CopayDto) -> String {
    if nothing_to_pay(c) {
        return "自己負担なし".into();
    }
    let CapsDto {
        per_visit,
        per_day,
        per_month,
    } = &c.caps;
    let list: Vec<String> = [(per_visit, "回"), (per_day, "日"), (per_month, "月")]
        .iter()
        .filter_map(|(v, n)| v.map(|y| format!("{n} {}", yen(y))))
        .collect();
    if list.is_empty() {
        "なし".into()
    } else {
        list.join("・")
    }
}

fn share(c: &CopayDto) -> String {
    if nothing_to_pay(c) {
        return "自己負担なし".into();
    }
    let fixed = |per: &str| {
        c.amount_yen
            .map_or_else(|| format!("定額（{per}）"), |y| format!("{per} {}", yen(y)))
    };
    match c.method {
        Some(CopayMethodDto::Rate) => c.rate_percent.map_or_else(
            || "—".into(),
            |p| format!("{}割", f64::from(p) / 10.0).replace(".0割", "割"),
        ),
        Some(CopayMethodDto::CopayRate) => c
            .rate_percent
            .map_or_else(|| "—".into(), |p| format!("自己負担の{p}%")),
        Some(CopayMethodDto::PerVisit) => fixed("1回"),
        Some(CopayMethodDto::PerDay) => fixed("1日"),
        Some(CopayMethodDto::Free) => "自己負担なし".into(),
        None => "不明（受給者証を確認）".into(),
    }
}

/// One line of a 自己負担上限額管理票: a visit here (`institution` `None`) or another
/// institution's amount.
pub struct SheetLine {
    pub date: NaiveDate,
    pub institution: Option<String>,
    pub total_cost: Option<u64>,
    pub amount: u64,
}

/// The month's 管理票 per (payer number, recipient number); `Err` when it could not be read.
pub type Sheets = std::collections::HashMap<(String, String), Result<Vec<SheetLine>, ()>>;

fn sheet_key(sub: &SubsidyDto) -> (String, String) {
    (
        sub.payer_number.clone(),
        sub.recipient_number.clone().unwrap_or_default(),
    )
}

/// The month's 管理票 as the paper form has it: 日付, 医療機関名, 医療費総額, 自己負担額, 累積額.
fn sheet_table(sub: &SubsidyDto, sheets: &Sheets) -> Markup {
    let lines = match sheets.get(&sheet_key(sub)) {
        None => return html! {},
        Some(Err(())) => {
            return html! { p.alert role="alert" { "管理票（当院の記録）を読み込めません。しばらくしてから開き直してください。" } };
        }
        Some(Ok(lines)) => lines,
    };
    let mut running = 0u64;
    let rows: Vec<(&SheetLine, u64)> = lines
        .iter()
        .map(|l| {
            running += l.amount;
            (l, running)
        })
        .collect();
    html! {
        @if !rows.is_empty() {
            table.kanrihyo {
                caption { "自己負担上限額管理票（今月）" }
                thead { tr {
                    th scope="col" { "日付" } th scope="col" { "医療機関名" }
                    th scope="col" { "医療費総額" } th scope="col" { "自己負担額" }
                    th scope="col" { "累積額" }
                } }
                tbody { @for (l, sum) in rows { tr {
                    td { (l.date.format("%m/%d")) }
                    td { (l.institution.as_deref().map_or("当院", |i| if i.is_empty() { "—" } else { i })) }
                    td { (l.total_cost.map_or_else(|| "—".into(), yen)) }
                    td { (yen(l.amount)) }
                    td { (yen(sum)) }
                } } }
            }
        }
    }
}

/// The subsidy's month from the ledger, and the 管理票 form when its monthly cap is shared
/// (with the session's CSRF token; `None`: the client may not add amounts — scope `charges`).
fn ledger_panel(sub: &SubsidyDto, p: &PatientPage<'_>) -> Markup {
    if !sub.copay.monthly_cap_shared {
        return html! {};
    }
    html! {
        section.ledger aria-label="上限額管理" {
            @match &sub.month_to_date {
                Some(m) => p.mtd data-total=(m.total) {
                    "今月（" (m.month) "）の自己負担累計：" strong { (yen(m.total)) }
                    "（当院 " (yen(m.own)) "・他機関 " (yen(m.others)) "）"
                    @if let Some(r) = m.remaining { "・残り " (yen(r)) }
                },
                None => p.mtd data-total="0" { "今月の記録はまだありません。" },
            }
            (sheet_table(sub, p.sheets))
            @match p.ledger_csrf {
                None => p.note { "管理票の金額の入力には " code { "charges" } " 権限のあるクライアントでサインインしてください。" },
                Some(csrf) => form.entry method="post" action={ "/reception/patients/" (seg(p.reference)) "/ledger-entries" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="payer_number" value=(sub.payer_number);
                    input type="hidden" name="recipient_number" value=(sub.recipient_number.as_deref().unwrap_or_default());
                    @if let Some(c) = sub.copay.caps.per_month { input type="hidden" name="monthly_cap" value=(c); }
                    fieldset {
                        legend { "自己負担上限額管理票から入力" }
                        label { "日付 " input type="date" name="date" value=(p.today) required; }
                        label { "金額（円） " input type="number" name="amount" min="0" step="1" required inputmode="numeric"; }
                        label { "区分 " select name="care" { option value="outpatient" { "外来" } option value="inpatient" { "入院" } } }
                        label { "医療機関 " input type="text" name="institution" maxlength="40"; }
                        button type="submit" { "追加" }
                    }
                },
            }
        }
    }
}

fn subsidy(sub: &SubsidyDto, p: &PatientPage<'_>) -> Markup {
    let c = &sub.copay;
    let order = sub.order.unwrap_or(0);
    let full = sub.programme_name.as_deref().unwrap_or_default();
    let name = sub.programme_short_name.as_deref().unwrap_or(full);
    html! {
        section.subsidy data-order=(order) {
            h2 { "第" (order) "公費　" (name) " " small { (full) } }
            dl {
                dt { "公費負担者番号" } dd data-field="payer_number" { (copy_button("公費負担者番号", &sub.payer_number)) }
                dt { "受給者番号" } dd data-field="recipient_number" { (copy_button("受給者番号", sub.recipient_number.as_deref().unwrap_or_default())) }
                dt { "有効期間" } dd { (sub.valid_from.as_deref().unwrap_or_default()) " 〜 " (sub.valid_to.as_deref().unwrap_or_default()) }
                dt { "負担割合" } dd data-field="share" { (share(c)) }
                dt { "上限額" } dd data-field="caps" { (caps(c)) @if c.monthly_cap_shared { "（他機関と合算）" } }
                dt { "所得区分" } dd { (sub.income_segment.as_deref().unwrap_or("—")) }
                dt { "指定医療機関" } dd {
                    @if sub.designated_institutions.is_empty() { "指定なし" }
                    @for (i, inst) in sub.designated_institutions.iter().enumerate() {
                        @if i > 0 { "、" }
                        (inst.code) @if let Some(n) = &inst.name { " " (n) }
                    }
                }
                dt { "注意" } dd {
                    @if sub.flags.is_empty() { "—" }
                    @for f in &sub.flags { span.tag { (flag_text(*f)) } }
                    @for line in sub.flags.iter().filter_map(|f| flag_explained(*f)) { p.explain { (line) } }
                }
            }
            @if !sub.warnings.is_empty() {
                ul.warnings role="list" { @for w in &sub.warnings { li { (warning_text(w)) } } }
            }
            // In print, the month's 管理票 as its table (no form).
            @if p.print { (sheet_table(sub, p.sheets)) } @else { (ledger_panel(sub, p)) }
        }
    }
}

/// The 負担区分 of this visit: every active subsidy, with insurance when it is not 公費のみ.
fn visit_burden(answer: &SubsidyCheckResponse) -> String {
    let active = answer.subsidies.len();
    let wanted = |with_insurance: bool| {
        answer.burden_codes.iter().find(|b| {
            let insured = b.payers.contains(&"insurance");
            insured == with_insurance && b.payers.len() == active + usize::from(with_insurance)
        })
    };
    match wanted(true).or_else(|| wanted(false)) {
        Some(b) if active > 0 => format!("{}（{}）", b.code.as_deref().unwrap_or("—"), b.label),
        _ => "—".into(),
    }
}

/// Everything the patient's page (or its print view) shows.
pub struct PatientPage<'a> {
    /// The API's typed answer for the 照会番号.
    pub answer: &'a SubsidyCheckResponse,
    /// The person as the check-in's result names them.
    pub person: Option<&'a PatientDetails>,
    pub reference: &'a str,
    /// The session's CSRF token when the client may add 管理票 amounts.
    pub ledger_csrf: Option<&'a str>,
    /// Today in JST, `YYYY-MM-DD` (the entry form's default date).
    pub today: &'a str,
    /// `outpatient`, `inpatient` or `pharmacy`.
    pub setting: &'a str,
    pub print: bool,
    pub sheets: &'a Sheets,
}

fn heading(answer: &SubsidyCheckResponse) -> &'static str {
    let inactive = &answer.inactive_subsidies;
    let only = |status: SubsidyStatusDto| {
        !inactive.is_empty() && inactive.iter().all(|i| i.status == status)
    };
    let none_active = answer.subsidies.is_empty();
    match answer.status {
        AnswerStatus::Confirmed if none_active && only(SubsidyStatusDto::Expired) => {
            "期限切れ（紙の受給者証を確認）"
        }
        AnswerStatus::Confirmed if none_active && only(SubsidyStatusDto::NotYetValid) => {
            "有効期間前（紙の受給者証を確認）"
        }
        AnswerStatus::Confirmed if none_active => {
            "公費の適用はありません（期限切れ・対象外を含む）"
        }
        AnswerStatus::Confirmed => "公費あり",
        AnswerStatus::NoneFound => "情報なし（紙の受給者証を確認）",
        AnswerStatus::Unavailable => "取得できません（PMHに接続できません・紙の受給者証を確認）",
    }
}

/// One patient's page (or its print view).
pub fn patient(p: &PatientPage<'_>) -> Markup {
    let a = p.answer;
    let service_day = NaiveDate::parse_from_str(&a.service_date.to_string(), "%Y-%m-%d").ok();
    html! {
        article.patient.print[p.print] {
            h1 { "照会番号 " span.num #reference { (p.reference) } }
            @if let Some(who) = p.person {
                dl.person {
                    dt { "氏名" } dd #person-name { (who.name.as_deref().unwrap_or("（氏名なし）")) }
                    dt { "カナ" } dd #person-kana { (who.kana.as_deref().unwrap_or("—")) }
                    dt { "性別" } dd { (who.sex.map_or("—", crate::domain::Sex::label_ja)) }
                    dt { "生年月日" } dd { (birthdate(who.birthdate, service_day)) }
                }
            }
            p.summary {
                strong { (heading(a)) } "　受診日 " (a.service_date)
                "　レセプト種別 " span data-field="receipt_type" { (a.receipt_type.as_deref().unwrap_or("—")) }
                "　この受診の負担区分 " span data-field="burden" { (visit_burden(a)) }
            }
            @if a.source == Some(AnswerSource::Stale) {
                p.alert role="alert" { "PMHに接続できないため、前回確認した情報です。" }
            }
            @if !p.print {
                form.setting method="get" {
                    label { "受診区分 "
                        select name="setting" {
                            @for (v, label) in [("outpatient", "医科・外来"), ("inpatient", "医科・入院"), ("pharmacy", "調剤")] {
                                option value=(v) selected[v == p.setting] { (label) }
                            }
                        }
                    }
                    " " button type="submit" { "表示" }
                    " " a.button href={ "/reception/patients/" (seg(p.reference)) "/print?setting=" (p.setting) } { "印刷用" }
                }
            }
            @for sub in &a.subsidies { (subsidy(sub, p)) }
            @if !a.inactive_subsidies.is_empty() {
                section.inactive {
                    h2 { "適用外の受給者証" }
                    ul { @for sub in &a.inactive_subsidies {
                        li {
                            (sub.programme_short_name.as_deref().or(sub.programme_name.as_deref()).unwrap_or_default())
                            " " (sub.payer_number) " — "
                            (match sub.status { SubsidyStatusDto::Expired => "期限切れ", SubsidyStatusDto::NotYetValid => "有効期間前", _ => "有効期間不明" })
                            "（" (sub.valid_from.as_deref().unwrap_or_default()) " 〜 " (sub.valid_to.as_deref().unwrap_or_default()) "）"
                        }
                    } }
                }
            }
            p.note { "確認ID " (a.check_id) }
            details.note { summary { "マスタの版" } p { (a.masters_version.replace(',', "、")) } }
        }
    }
}

/// A line of the health page: what, its value, and whether it is fine.
pub struct HealthItem {
    pub name: String,
    pub value: String,
    pub fine: bool,
}

impl HealthItem {
    pub fn new(name: impl Into<String>, value: impl Into<String>, fine: bool) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            fine,
        }
    }
}

/// The gateway's health for the clinic's IT person; the masters' versions (long, for whoever
/// updates them) behind a toggle.
pub fn health(items: &[HealthItem], masters: &str) -> Markup {
    html! {
        h1 { "ゲートウェイの状態" }
        table.health { tbody { @for i in items {
            tr class=(if i.fine { "ok" } else { "bad" }) { th scope="row" { (i.name) } td { (i.value) } }
        } } }
        details.note { summary { "マスタの版（ファイルごと）" } p { (masters.replace(',', "、")) } }
    }
}

/// The 月次点検 upload: the month's UKE file, sent by the page's script as it is.
pub fn receipts_upload(csrf: &str) -> Markup {
    html! {
        h1 { "月次点検（レセプトの事前点検）" }
        p { "レセコンが出力した当月分のUKEファイル（請求前のもの）を選んでください。各レセプトの公費を、記録の決まり・マスタ・PMHの受給者証・管理票と照合します。" }
        form.card #uke-form data-csrf=(csrf) {
            label for="uke-file" { "UKEファイル" }
            input #uke-file type="file" required;
            button type="submit" { "点検する" }
            p #uke-status role="status" {}
        }
        noscript { p.alert { "ファイルの送信にはJavaScriptが必要です。" } }
        p.note { "結果には患者の氏名が含まれます。結果は保存期間の後に自動で削除されます（「保存する」を押した結果を除く）。" }
    }
}

/// A receipt check's report: its progress while it runs (the page reloads itself), then the
/// receipts to review, grouped by receipt with the patient's name as the file gives it.
pub fn receipts_report(r: &crate::receipts::Report, csrf: &str) -> Markup {
    use crate::receipts::RunState;
    let running = r.state == RunState::Running;
    html! {
        h1 { "月次点検の結果" }
        p.note { "診療年月 " (r.months.join("、")) "・レセプト " (r.receipts) "件・患者 " (r.patients) "人" }
        @if running {
            p role="status" { "点検中… " (r.patients_done) " / " (r.patients) " 人" }
            progress #uke-progress max=(r.patients.max(1)) value=(r.patients_done) {}
        } @else if r.state == RunState::Interrupted {
            p.alert role="alert" { "点検が中断されました（ゲートウェイが停止しました）。もう一度ファイルを送ってください。" }
        } @else {
            table.health { tbody {
                tr { th scope="row" { "指摘" } td { (r.findings) "件" } }
                tr { th scope="row" { "PMHと照合済み" } td { (r.pmh.checked) "人" } }
                tr { th scope="row" { "PMHに登録なし" } td { (r.pmh.none_found) "人" } }
                tr class=(if r.pmh.not_checked > 0 { "bad" } else { "ok" }) { th scope="row" { "未照合（PMHに接続できず）" } td { (r.pmh.not_checked) "人" } }
                tr { th scope="row" { "被保険者を特定できず" } td { (r.pmh.not_identifiable) "件" } }
            } }
            @if !r.line_problems.is_empty() {
                h2 { "読めなかった行" }
                ul { @for p in &r.line_problems { li { (p.line) "行目：" (p.reason) } } }
            }
            div.setting {
                button.print type="button" { "印刷" }
                @if r.expires_at.is_some() {
                    form.inline method="post" action={ "/reception/receipts/" (seg(&r.id)) "/keep" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "保存する（自動削除しない）" }
                    }
                } @else {
                    span.tag { "保存済み" }
                }
            }
            @if r.items.is_empty() {
                p { "指摘はありません。" }
            }
            @for i in &r.items {
                section.subsidy.receipt {
                    h2 { "レセプト " (i.number) "　" span.name { (i.name) } }
                    p.note { (i.line) "行目・診療年月 " (i.month) "・種別 " (i.kind) "・" (i.pmh.ja()) }
                    @if !i.findings.is_empty() {
                        ul { @for f in &i.findings {
                            li { (f.line) "行目：" (f.ja) " " small { "(" (f.code) ")" } }
                        } }
                    }
                }
            }
        }
    }
}

/// A message page (not found, refused, …).
pub fn message(title: &str, text: &str) -> Markup {
    html! {
        h1 { (title) }
        p { (text) }
        p { a href="/reception" { "受付一覧へ" } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dto::CertificateCapsDto;

    fn copay(method: CopayMethodDto, rate: Option<u8>, per_month: Option<u64>) -> CopayDto {
        CopayDto {
            method: Some(method),
            rate_percent: rate,
            amount_yen: None,
            applies_to: crate::api::vocab::CareWord::Outpatient,
            claim: crate::api::vocab::ClaimWord::Medical,
            caps: CapsDto {
                per_month,
                ..CapsDto::default()
            },
            charged_times_per_month: None,
            monthly_cap_shared: false,
            condition_name: None,
            source: crate::api::vocab::CapsSourceDto::None,
            certificate: CertificateCapsDto::default(),
        }
    }

    #[test]
    fn values_are_escaped_and_yen_grouped() {
        let m = message(r#"<a href="x">&'"#, "t").into_string();
        assert!(m.contains("&lt;a href=&quot;x&quot;&gt;&amp;'"), "{m}");
        assert_eq!(seg("A 1/é"), "A%201%2F%C3%A9");
        assert_eq!(yen(1_234_567), "1,234,567円");
        assert_eq!(yen(500), "500円");
        assert_eq!(share(&copay(CopayMethodDto::Rate, Some(10), None)), "1割");
        assert_eq!(share(&copay(CopayMethodDto::Rate, Some(15), None)), "1.5割");
    }

    #[test]
    fn the_flags_that_change_the_window_are_explained() {
        assert!(
            flag_explained(FlagDto::ReimbursementOnly)
                .unwrap()
                .contains("窓口では使えません")
        );
        assert!(
            flag_explained(FlagDto::DesignatedInstitutionMismatch)
                .unwrap()
                .contains("指定医療機関ではない")
        );
        assert_eq!(flag_explained(FlagDto::SingleOnly), None);
    }

    #[test]
    fn a_programme_with_nothing_to_pay_says_so_once() {
        // 生活保護 without a 本人支払額: the master's rate beside a monthly cap of 0 read as a
        // contradiction ("2割" and "月 0円"); both fields say 自己負担なし.
        let welfare = copay(CopayMethodDto::Rate, Some(20), Some(0));
        assert_eq!(
            (share(&welfare), caps(&welfare)),
            ("自己負担なし".into(), "自己負担なし".into())
        );
        assert_eq!(
            share(&copay(CopayMethodDto::Free, None, None)),
            "自己負担なし"
        );
        let capped = copay(CopayMethodDto::Rate, Some(20), Some(5000));
        assert_eq!(
            (share(&capped), caps(&capped)),
            ("2割".into(), "月 5,000円".into())
        );
    }

    #[test]
    fn a_row_shows_the_person_as_the_file_gives_them() {
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 21, 1, 0, 0).unwrap();
        let row = BoardRow {
            reference: "R<1>".into(),
            person: Some(PatientDetails::new(
                Some("●橋　花子"),
                Some("ﾀｶﾊｼ ﾊﾅｺ"),
                Some("2"),
                NaiveDate::from_ymd_opt(1980, 11, 22).unwrap(),
            )),
            service_date: crate::domain::ServiceDate::new(
                NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            ),
            arrived_at: t,
            status: RowStatus::Pending,
            subsidies: vec![],
            alerts: vec![Alert::Expired],
            seq: 3,
        };
        let h = row_at(&row, t);
        assert!(h.contains("●橋　花子"), "{h}");
        assert!(h.contains("ﾀｶﾊｼ ﾊﾅｺ"), "{h}");
        assert!(h.contains(r#"data-kana="タカハシハナコ""#), "{h}");
        assert!(h.contains("1980/11/22（45歳）"), "{h}");
        assert!(h.contains(r#"data-ref="R&lt;1&gt;""#), "{h}");
        assert!(h.contains(r#"href="/reception/patients/R%3C1%3E""#), "{h}");
        assert!(h.contains(r#"data-updated="10:00:00""#), "{h}");
        assert!(h.contains("<td>女<br>"), "{h}");
    }
}
