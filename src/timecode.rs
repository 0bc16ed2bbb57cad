//! Durations as people and files write them, parsed in one place into integer milliseconds
//! (the engine day file's `in`/`duration` and the collection form's `作品时长` clock form; the
//! form's "45分钟" style is `catalog::fields`), and written back in one place: [`hms`] for
//! whole seconds, [`hms_millis`] with milliseconds.

/// Parses `HH:MM:SS[.mmm]`, `MM:SS[.mmm]` or plain seconds (`90`, `"90"`, `2.5`) into
/// milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let (secs_part, hm) = parts.split_last()?;
    let mut total_ms: u64 = 0;
    for (i, p) in hm.iter().enumerate() {
        let v: u64 = p.parse().ok()?;
        let mult = if hm.len() == 2 && i == 0 {
            3_600_000
        } else {
            60_000
        };
        // Minutes (and seconds) stop at 59; the leading hours do not.
        if (i > 0 || hm.len() == 1) && v >= 60 {
            return None;
        }
        total_ms = total_ms.checked_add(v.checked_mul(mult)?)?;
    }
    let (whole, frac) = match secs_part.split_once('.') {
        Some((w, f)) => (w, f),
        None => (*secs_part, ""),
    };
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 3 {
        return None;
    }
    let w: u64 = whole.parse().ok()?;
    if !hm.is_empty() && w >= 60 {
        return None;
    }
    let f: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    total_ms.checked_add(w.checked_mul(1000)?.checked_add(f)?)
}

/// Formats milliseconds as `HH:MM:SS` (hours may pass 24), rounded down to the second;
/// negative values print as `00:00:00`. Add 500 first to round to the nearest second.
pub fn hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Formats milliseconds as `HH:MM:SS.mmm` (hours may pass 24), with a `-` when negative.
pub fn hms_millis(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!(
        "{sign}{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}
