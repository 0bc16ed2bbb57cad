//! Parsers of single collection-form values as people type them: durations ("45分钟",
//! "00:32:10"), yes/no, submission status, supervising-body type and multi-select categories.
//! Each returns the value or a Chinese reason; row and column are added by `import`.

use super::model::*;

/// Parses a duration: "01:30:00", "45:00", "45分钟", "1小时30分", "30分20秒", "90 min".
pub fn parse_duration_ms(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim();
    let hint = "请写成「00:30:00」或「30分钟」";
    if t.contains(':') || t.contains('：') {
        // The clock form, in integers: HH:MM:SS[.mmm] or MM:SS[.mmm].
        return crate::timecode::parse_duration_ms(&t.replace('：', ":"))
            .and_then(|ms| i64::try_from(ms).ok())
            .ok_or_else(|| format!("时长「{t}」无法识别，{hint}"));
    }
    let mut total_ms: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    let lower = t.to_lowercase();
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || n == '.' || n.is_whitespace() {
                break;
            }
            unit.push(n);
            chars.next();
        }
        let factor = match unit.as_str() {
            "小时" | "时" | "h" | "hour" | "hours" => 3_600_000.0,
            "分钟" | "分" | "min" | "m" | "minutes" => 60_000.0,
            "秒" | "秒钟" | "s" | "sec" => 1000.0,
            _ => return Err(format!("时长「{t}」中的单位「{unit}」无法识别，{hint}")),
        };
        let v: f64 = num
            .parse()
            .map_err(|_| format!("时长「{t}」无法识别，{hint}"))?;
        total_ms += (v * factor).round() as i64;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("时长「{t}」缺少单位，{hint}"));
    }
    Ok(total_ms)
}

/// Yes/no as written on forms (是/否, 有/无, √, yes/no, 1/0); empty means no.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "否" | "无" | "没有" | "n" | "no" | "false" | "0" | "×" => Some(false),
        "是" | "有" | "y" | "yes" | "true" | "1" | "√" | "✓" => Some(true),
        _ => None,
    }
}

/// 报送视频状态 by its stored spelling or by key words (成品, 待…制作, 精剪).
pub fn parse_status(s: &str) -> Option<ProductionStatus> {
    let t = s.trim();
    if let Ok(v) = t.parse() {
        return Some(v);
    }
    if t.contains("精剪") {
        Some(ProductionStatus::Highlights)
    } else if t.contains("待") {
        Some(ProductionStatus::ToBeProduced)
    } else if t.contains("成品") {
        Some(ProductionStatus::Finished)
    } else {
        None
    }
}

/// 主管单位所属类型 by its stored spelling or by key words (纲要, 学会, 科协, 其他).
pub fn parse_supervisor_type(s: &str) -> Option<SupervisorType> {
    let t = s.trim();
    if let Ok(v) = t.parse() {
        return Some(v);
    }
    if t.contains("纲要") {
        Some(SupervisorType::Gangyaoban)
    } else if t.contains("学会") {
        Some(SupervisorType::NationalSociety)
    } else if t.contains("科协") {
        Some(SupervisorType::LocalAssociation)
    } else if t.starts_with("其他") {
        Some(SupervisorType::Other)
    } else {
        None
    }
}

/// Multi-select categories against the edition's `categories`: full names first (some contain
/// 、), then ids or names split on 、，,；;|/ and new lines; duplicates dropped.
pub fn parse_categories(
    s: &str,
    categories: &[crate::edition::CategoryRule],
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // Full names first: some contain '、', which is also a separator people use. Longest
    // first, and never the short catch-all (其他), which is read after splitting.
    let mut rest = s.to_string();
    let mut by_length: Vec<&crate::edition::CategoryRule> = categories
        .iter()
        .filter(|c| c.name.chars().count() > 3)
        .collect();
    by_length.sort_by_key(|c| std::cmp::Reverse(c.name.len()));
    for c in by_length {
        if rest.contains(&c.name) {
            rest = rest.replace(&c.name, "|");
            out.push(c.id);
        }
    }
    out.sort_unstable();
    for part in rest.split([',', '，', ';', '；', '、', '|', '/', '\n']) {
        let year_prefix = part
            .trim()
            .strip_suffix('年')
            .is_some_and(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()));
        if part.trim().is_empty() || year_prefix {
            continue;
        }
        match parse_category(part, categories) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => {
                return Err(format!(
                    "视频类别「{}」不是本届的类别（可写编号或类别名称：{}）",
                    part.trim(),
                    categories
                        .iter()
                        .map(|c| format!("{} {}", c.id, c.name))
                        .collect::<Vec<_>>()
                        .join("、")
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<crate::edition::CategoryRule> {
        crate::edition::Edition::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schedules/editions/2026.toml"
        )))
        .expect("edition")
        .categories
    }

    #[test]
    fn categories_with_separators_inside_names() {
        let c = cats();
        assert_eq!(
            parse_categories("科普场馆、科普教育基地探访视频", &c),
            Ok(vec![2])
        );
        assert_eq!(
            parse_categories("大国重器类科普视频、国家重点实验室类科普视频", &c),
            Ok(vec![3, 4])
        );
        assert_eq!(
            parse_categories("2026年全国科普月活动精剪视频；其他：科普剧", &c),
            Ok(vec![1, 9])
        );
        assert_eq!(parse_categories("3, 8", &c), Ok(vec![3, 8]));
        assert!(parse_categories("2、纪录片", &c).is_err_and(|e| e.contains("纪录片")));
    }

    #[test]
    fn durations_in_the_forms_people_write() {
        assert_eq!(parse_duration_ms("00:30:00"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("45:30"), Ok(2_730_000));
        assert_eq!(parse_duration_ms("45分钟"), Ok(2_700_000));
        assert_eq!(parse_duration_ms("1小时30分"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("3 小时"), Ok(10_800_000));
        assert_eq!(parse_duration_ms("30分20秒"), Ok(1_820_000));
        assert!(parse_duration_ms("30").is_err_and(|e| e.contains("缺少单位")));
        assert!(parse_duration_ms("半小时").is_err());
    }
}
