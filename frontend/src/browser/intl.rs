//! Plurals, numbers, sizes, clocks, dates and relative times from the
//! browser's `Intl`, for [`Formats`]: the page carries no such tables.

use js_sys::{Array, Date, Function, Intl, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::model::i18n::Formats;

/// The browser's formats.
pub fn formats() -> Formats {
    Formats {
        plural,
        number,
        size,
        percent,
        minutes_ago,
        clock,
        date_time,
    }
}

fn locales(code: &str) -> Array {
    Array::of1(&code.into())
}

fn options(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

/// Calls one of `Intl`'s bound `format` getters.
fn call(format: Function, value: &JsValue) -> String {
    format
        .call1(&JsValue::NULL, value)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn plural(code: &str, n: f64) -> String {
    Intl::PluralRules::new(&locales(code), &Object::new())
        .select(n)
        .into()
}

fn number(code: &str, n: f64) -> String {
    let f = Intl::NumberFormat::new(&locales(code), &Object::new());
    call(f.format(), &n.into())
}

fn size(code: &str, bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b < 1024 => (b as f64, "byte"),
        b if b < 1024 * 1024 => (b as f64 / 1024.0, "kilobyte"),
        b => (b as f64 / (1024.0 * 1024.0), "megabyte"),
    };
    let o = options(&[
        ("style", "unit".into()),
        ("unit", unit.into()),
        ("maximumFractionDigits", 1.into()),
    ]);
    call(
        Intl::NumberFormat::new(&locales(code), &o).format(),
        &value.into(),
    )
}

fn percent(code: &str, p: u8) -> String {
    let o = options(&[("style", "percent".into())]);
    call(
        Intl::NumberFormat::new(&locales(code), &o).format(),
        &(f64::from(p) / 100.0).into(),
    )
}

fn minutes_ago(code: &str, m: u64) -> String {
    let o = options(&[("style", "short".into())]);
    Intl::RelativeTimeFormat::new(&locales(code), &o)
        .format(-(m as f64), "minute")
        .into()
}

fn date(ms: f64) -> JsValue {
    Date::new(&ms.into()).into()
}

fn clock(code: &str, ms: f64) -> String {
    let o = options(&[("hour", "2-digit".into()), ("minute", "2-digit".into())]);
    call(
        Intl::DateTimeFormat::new(&locales(code), &o).format(),
        &date(ms),
    )
}

fn date_time(code: &str, ms: f64) -> String {
    let o = options(&[
        ("day", "numeric".into()),
        ("month", "short".into()),
        ("hour", "2-digit".into()),
        ("minute", "2-digit".into()),
    ]);
    call(
        Intl::DateTimeFormat::new(&locales(code), &o).format(),
        &date(ms),
    )
}
