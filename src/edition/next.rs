//! The next year's edition from this year's file, for a person to review
//! (`kepu-playout edition new 2027 --from 2026`), and the line a dotted field sits on (for
//! `edition check`'s `file:line` errors).
//!
//! Works on the text, line by line, so that every comment and the layout stay as written.
//! Dates of the old year move to the new one by these rules:
//! - a `[[schedule.day]]` named 全国科普日 goes to the third Saturday of September (the day
//!   is fixed as 每年9月第三个星期六);
//! - every other date keeps its month and day (29 February becomes the 28th); a per-day
//!   override whose weekday changes is listed for review;
//! - `[edition] year`, `[schedule] edition` and `[schedule] seed` become the new year.
//!
//! Anything else that still names the old year (a theme, a title, a URL) is left alone and
//! listed, so the reviewer sees it. Pure: no files, no clock.

use chrono::{Datelike, NaiveDate, Weekday};

/// What moved and what a person must look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextEdition {
    /// The new file's text.
    pub text: String,
    /// Every change, one line each (`第 5 行 edition.window_start：2026-09-01 → 2027-09-01`).
    pub changes: Vec<String>,
    /// What the reviewer should check (the old year still written somewhere, a weekday that
    /// changed).
    pub review: Vec<String>,
}

/// The third Saturday of September of `year` (全国科普日).
pub fn science_day(year: i32) -> Option<NaiveDate> {
    nth_weekday(year, 9, Weekday::Sat, 3)
}

/// The `n`th (1-based) `weekday` of `month` in `year`.
pub fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let ahead = (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    let d = first + chrono::Duration::days(i64::from(ahead + 7 * (n.max(1) - 1)));
    (d.month() == month).then_some(d)
}

/// `date` with its year replaced, keeping month and day (29 February → 28 February).
fn same_day(date: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28))
}

const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

fn weekday_zh(d: NaiveDate) -> &'static str {
    WEEKDAYS[d.weekday().num_days_from_monday() as usize]
}

/// The table a header line opens (`[a.b]` and `[[a.b]]` → `a.b`), if it is one.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.split("]]").next())
        .or_else(|| t.strip_prefix('[').and_then(|r| r.split(']').next()))?;
    Some(inner.trim().to_string())
}

/// The value part of `key = value  # comment` split as (key, value start offset, value end
/// offset) — the comment left out; `None` for anything that is not a key line.
fn key_value(line: &str) -> Option<(String, usize, usize)> {
    let eq = line.find('=')?;
    let key = line[..eq].trim();
    if key.is_empty() || key.starts_with('#') || key.starts_with('[') {
        return None;
    }
    let mut in_str = false;
    let mut end = line.len();
    for (i, c) in line.char_indices().skip_while(|(i, _)| *i <= eq) {
        match c {
            '"' => in_str = !in_str,
            '#' if !in_str => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    Some((key.to_string(), eq + 1, end))
}

/// Finds `YYYY-MM-DD` dates of `year` in `value` (outside quotes) as byte ranges.
fn dates_in(value: &str, year: i32) -> Vec<(usize, NaiveDate)> {
    let prefix = format!("{year}-");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find(&prefix) {
        let at = from + i;
        if let Some(d) = value
            .get(at..at + 10)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            let quoted = value[..at].matches('"').count() % 2 == 1;
            if !quoted {
                out.push((at, d));
            }
        }
        from = at + prefix.len();
    }
    out
}

/// The next edition: `text` (the `from` year's file) with its dates moved to `to`.
pub fn next_edition(text: &str, from: i32, to: i32) -> NextEdition {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = NextEdition::default();
    let mut table = String::new();
    let mut new_lines = Vec::with_capacity(lines.len() + 4);
    for (i, line) in lines.iter().enumerate() {
        // Lines of the new file: one header comment line comes first.
        let no = i + 2;
        if let Some(h) = header(line) {
            table = h;
            new_lines.push(line.to_string());
            continue;
        }
        let Some((key, vs, ve)) = key_value(line) else {
            new_lines.push(line.to_string());
            continue;
        };
        let field = if table.is_empty() {
            key.clone()
        } else {
            format!("{table}.{key}")
        };
        let value = &line[vs..ve];
        let mut new_value = value.to_string();
        let old_year = from.to_string();
        let new_year = to.to_string();
        match field.as_str() {
            "edition.year" | "schedule.seed" if value.trim() == old_year => {
                new_value = value.replacen(&old_year, &new_year, 1);
            }
            "schedule.edition" if value.trim() == format!("\"{from}\"") => {
                new_value = value.replacen(&old_year, &new_year, 1);
            }
            _ => {
                // Dates, right to left so the offsets stay valid.
                let science = table == "schedule.day" && block_is_science_day(&lines, i);
                for (at, d) in dates_in(value, from).into_iter().rev() {
                    let moved = if science {
                        science_day(to)
                    } else {
                        same_day(d, to)
                    };
                    let Some(n) = moved else { continue };
                    new_value.replace_range(at..at + 10, &n.format("%Y-%m-%d").to_string());
                    if table == "schedule.day" && !science && n.weekday() != d.weekday() {
                        out.review.push(format!(
                            "第 {no} 行 {field}：{d}（{}）→ {n}（{}），星期变了，请确认这一天的安排",
                            weekday_zh(d),
                            weekday_zh(n)
                        ));
                    }
                    let rule = if science {
                        "（9 月第三个星期六，全国科普日）"
                    } else {
                        ""
                    };
                    out.changes
                        .push(format!("第 {no} 行 {field}：{d} → {n}{rule}"));
                }
            }
        }
        if new_value != value {
            if !out
                .changes
                .iter()
                .any(|c| c.starts_with(&format!("第 {no} 行")))
            {
                out.changes.push(format!(
                    "第 {no} 行 {field}：{} → {}",
                    value.trim(),
                    new_value.trim()
                ));
            }
        } else if value.contains(&old_year) {
            out.review.push(format!(
                "第 {no} 行 {field} 仍写着 {from}：{}",
                value.trim()
            ));
        }
        new_lines.push(format!("{}{}{}", &line[..vs], new_value, &line[ve..]));
    }
    let mut text_out = format!(
        "# 由 `kepu-playout edition new {to} --from {from}` 生成：日期已顺延到 {to} 年，\
         发布前请人工复核（征集通知、截止日期、主题、活动安排），再用 `kepu-playout edition check` 校验。\n"
    );
    text_out.push_str(&new_lines.join("\n"));
    text_out.push('\n');
    out.text = text_out;
    out
}

/// Whether the `[[schedule.day]]` block around line index `i` is named 全国科普日.
fn block_is_science_day(lines: &[&str], i: usize) -> bool {
    let start = (0..=i)
        .rev()
        .find(|&j| header(lines[j]).is_some())
        .unwrap_or(0);
    let end = (i + 1..lines.len())
        .find(|&j| header(lines[j]).is_some())
        .unwrap_or(lines.len());
    lines[start..end].iter().any(|l| {
        key_value(l).is_some_and(|(k, vs, ve)| k == "name" && l[vs..ve].contains("全国科普日"))
    })
}

/// The 1-based line a dotted field (`acceptance.min_width`, `category[2].name`,
/// `schedule.first_day`) is written on in `text`, or the line of its table, if found.
pub fn field_line(text: &str, field: &str) -> Option<usize> {
    // `category[2].name` → table `category`, occurrence 2, key `name`.
    let (path, key) = match field.rsplit_once('.') {
        Some((p, k)) => (p.to_string(), k.to_string()),
        None => (String::new(), field.to_string()),
    };
    let (table, nth) = match path.split_once('[') {
        Some((t, rest)) => (
            t.to_string(),
            rest.trim_end_matches(']').parse::<usize>().unwrap_or(0),
        ),
        None => (path.clone(), 0),
    };
    let key = key.split('[').next().unwrap_or(&key).to_string();
    let mut current = String::new();
    let mut seen: Option<usize> = None;
    let mut table_line = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(h) = header(line) {
            current = h;
            if current == table {
                seen = Some(seen.map_or(0, |s| s + 1));
                if seen == Some(nth) {
                    table_line = Some(i + 1);
                }
            }
            continue;
        }
        let here = if table.is_empty() {
            current.is_empty()
        } else {
            current == table && seen == Some(nth)
        };
        if here && key_value(line).is_some_and(|(k, _, _)| k == key) {
            return Some(i + 1);
        }
    }
    table_line
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "[edition]\nyear = 2026\ntheme = \"2026 追光\"\nwindow_start = 2026-09-01  # 开始\n\
window_end = 2026-09-30\n\n[deadlines]\nfinished = 2026-07-12\n\n[schedule]\nedition = \"2026\"\n\
seed = 2026\nfirst_day = 2026-09-01\n\n[[schedule.day]]\ndate = 2026-09-19\nname = \"全国科普日\"\n\n\
[[schedule.day]]\ndate = 2026-09-26\nname = \"闭幕周末\"\n";

    #[test]
    fn science_day_is_the_third_saturday_of_september() {
        assert_eq!(science_day(2026), NaiveDate::from_ymd_opt(2026, 9, 19));
        assert_eq!(science_day(2027), NaiveDate::from_ymd_opt(2027, 9, 18));
        assert_eq!(science_day(2028), NaiveDate::from_ymd_opt(2028, 9, 16));
        assert_eq!(nth_weekday(2027, 2, Weekday::Mon, 5), None);
    }

    #[test]
    fn dates_move_and_comments_stay() {
        let n = next_edition(SAMPLE, 2026, 2027);
        assert!(n.text.contains("year = 2027\n"), "{}", n.text);
        assert!(n.text.contains("window_start = 2027-09-01  # 开始"));
        assert!(n.text.contains("window_end = 2027-09-30"));
        assert!(n.text.contains("finished = 2027-07-12"));
        assert!(n.text.contains("edition = \"2027\""));
        assert!(n.text.contains("seed = 2027"));
        assert!(n.text.contains("date = 2027-09-18\nname = \"全国科普日\""));
        assert!(n.text.contains("date = 2027-09-26\nname = \"闭幕周末\""));
        // The theme still says 2026 and the closing weekend moved off its Saturday.
        assert!(
            n.review.iter().any(|r| r.contains("edition.theme")),
            "{:?}",
            n.review
        );
        assert!(
            n.review.iter().any(|r| r.contains("星期变了")),
            "{:?}",
            n.review
        );
        assert!(
            n.changes
                .iter()
                .any(|c| c.contains("2026-09-19 → 2027-09-18"))
        );
    }

    #[test]
    fn fields_are_found_on_their_lines() {
        assert_eq!(field_line(SAMPLE, "edition.window_end"), Some(5));
        assert_eq!(field_line(SAMPLE, "deadlines.finished"), Some(8));
        assert_eq!(field_line(SAMPLE, "schedule.day[1].date"), Some(20));
        assert_eq!(field_line(SAMPLE, "schedule.first_day"), Some(13));
    }
}
