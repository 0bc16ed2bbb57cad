//! The 视频内容简介 cell as units write it: the notice asks for "作品名称、时长信息、版权方信息
//! …不超过200字" in one free-text cell, and a unit with several works writes several entries
//! (numbered, or one paragraph per 《title》). This module splits the cell into entries and
//! each entry into title (《…》, else "作品名称：…", else the first clause), declared duration
//! (时长…分钟/小时, or HH:MM:SS / MM:SS) and 版权方, and counts an entry's length as the
//! notice counts 字 ([`notice_chars`]). Pure: text in, drafts out.

use super::super::fields::parse_duration_ms;
use serde::{Deserialize, Serialize};

/// The notice's prompt texts, which units often leave in the cell above what they write.
pub const PROMPTS: &[&str] = &[
    "需包括作品名称、时长信息、版权方信息（如入选，将呈现在节目单中），不超过200字。",
    "需包括作品名称、时长信息、版权方信息(如入选，将呈现在节目单中)，不超过200字。",
    "请填写单个视频标题或系列视频标题并简要概述。（每个不超过200字）",
    "需完整填写线索名称、类别、科普价值、传播亮点及可拍摄内容等信息，确保线索内容真实具体、重点突出。",
];

/// Length of a text as the notice counts 字: every character except blanks (spaces, tabs,
/// line breaks, the full-width space), as Word's 字符数（不计空格）; a Chinese character, a
/// letter, a digit and a punctuation mark each count one.
pub fn notice_chars(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Removes the notice's prompt texts (with or without line breaks inside) from a cell.
pub fn strip_prompts(cell: &str) -> String {
    let mut out = cell.to_string();
    for p in PROMPTS {
        if let Some(i) = out.find(p) {
            out.replace_range(i..i + p.len(), "");
        }
    }
    out.trim().to_string()
}

/// One work as read from an entry of the 简介, before a person confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkDraft {
    /// 作品名称.
    pub title: String,
    /// How the title was found: 书名号《》, 作品名称, or 首句.
    pub title_from: String,
    /// Declared duration in ms, if one was written.
    pub duration_ms: Option<i64>,
    /// The duration as written ("约12分钟", "00:05:30").
    pub duration_text: Option<String>,
    /// 版权方, if written.
    pub copyright_holder: Option<String>,
    /// The entry as written (stored as the work's 视频内容简介).
    pub summary: String,
    /// Its length in 字 as the notice counts ([`notice_chars`]).
    pub summary_chars: usize,
    /// 报送视频状态 of this work (set by the form from its checked statuses).
    #[serde(default)]
    pub production_status: Option<crate::catalog::model::ProductionStatus>,
}

/// Whether a line starts a new numbered entry: "1.", "1、", "（1）", "(1)", "①", "一、",
/// "作品1：", "作品一：".
fn starts_entry(line: &str) -> bool {
    let t = line.trim_start();
    let mut cs = t.chars();
    let Some(first) = cs.next() else {
        return false;
    };
    if ('①'..='⑳').contains(&first) {
        return true;
    }
    if first == '（' || first == '(' {
        let rest: String = cs.clone().take_while(|c| c.is_ascii_digit()).collect();
        return !rest.is_empty();
    }
    if let Some(after) = t.strip_prefix("作品") {
        return after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || "一二三四五六七八九十".contains(c));
    }
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let cn: String = t
        .chars()
        .take_while(|c| "一二三四五六七八九十".contains(*c))
        .collect();
    let lead = if !digits.is_empty() { &digits } else { &cn };
    if lead.is_empty() {
        return false;
    }
    let next = t[lead.len()..].chars().next();
    matches!(next, Some('.' | '、' | '．' | '）' | ')'))
}

/// Splits the cell (prompts removed) into one entry per work: at numbered lines, else at
/// paragraphs that start with a new 《title》, else the whole cell is one entry.
pub fn split_entries(cell: &str) -> Vec<String> {
    let text = strip_prompts(cell);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let numbered = lines.iter().filter(|l| starts_entry(l)).count();
    let titled = lines.iter().filter(|l| l.starts_with('《')).count();
    let starts: Box<dyn Fn(&str) -> bool> = if numbered >= 2 {
        Box::new(starts_entry)
    } else if titled >= 2 {
        Box::new(|l: &str| l.starts_with('《'))
    } else {
        return vec![lines.join("")];
    };
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(cur) if !starts(l) => cur.push_str(l),
            _ => out.push(l.to_string()),
        }
    }
    out
}

/// Drops a leading enumerator ("1.", "（2）", "③", "作品一：") from an entry.
fn strip_enumerator(e: &str) -> &str {
    let t = e.trim_start();
    if !starts_entry(t) {
        return t;
    }
    let end = t
        .char_indices()
        .find(|(_, c)| ".、．）)：:".contains(*c) || ('①'..='⑳').contains(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    t[end..].trim_start()
}

const CLAUSE_END: &[char] = &['，', ',', '。', '；', ';', '：', ':', '\n', '！', '？'];

/// The text after `key` up to the end of its clause, without a leading 为/是/：.
fn after_key<'a>(entry: &'a str, keys: &[&str]) -> Option<&'a str> {
    for k in keys {
        if let Some(i) = entry.find(k) {
            let rest = entry[i + k.len()..]
                .trim_start_matches(|c: char| c.is_whitespace() || "：:为是归属于（(".contains(c));
            let end = rest
                .find(|c: char| CLAUSE_END.contains(&c) || "（）()".contains(c))
                .unwrap_or(rest.len());
            let v = rest[..end].trim();
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    None
}

/// The duration in an entry: after 时长 (any spelling parse_duration_ms takes), else the first
/// clock time (00:05:30) or number with a unit (12分钟, 1.5小时) anywhere.
fn find_duration(entry: &str) -> Option<(String, i64)> {
    let candidates = |s: &str| -> Option<(String, i64)> {
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        for (k, (i, c)) in chars.iter().enumerate() {
            if !c.is_ascii_digit() || (k > 0 && chars[k - 1].1.is_ascii_digit()) {
                continue;
            }
            let mut end = s.len();
            for (j, c2) in &chars[k..] {
                let ok = c2.is_ascii_digit()
                    || ".:：".contains(*c2)
                    || "小时分钟秒".contains(*c2)
                    || *c2 == ' ';
                if !ok {
                    end = *j;
                    break;
                }
            }
            let text = s[*i..end].trim().trim_end_matches(['.', ':', '：']);
            if let Ok(ms) = parse_duration_ms(text) {
                return Some((text.to_string(), ms));
            }
        }
        None
    };
    for key in ["时长", "片长", "时间长度"] {
        if let Some(i) = entry.find(key)
            && let Some(found) = candidates(&entry[i + key.len()..])
        {
            return Some(found);
        }
    }
    candidates(entry)
}

/// Reads one entry into a work draft.
pub fn parse_entry(entry: &str) -> WorkDraft {
    let body = strip_enumerator(entry);
    let (title, title_from) = if let Some(open) = body.find('《') {
        let rest = &body[open + '《'.len_utf8()..];
        let t = rest.split('》').next().unwrap_or(rest);
        (t.trim().to_string(), "书名号《》")
    } else if let Some(t) = after_key(
        body,
        &["作品名称", "视频名称", "作品标题", "视频标题", "名称"],
    ) {
        (t.to_string(), "作品名称")
    } else {
        let end = body.find(CLAUSE_END).unwrap_or(body.len());
        (body[..end].trim().to_string(), "首句")
    };
    let (duration_text, duration_ms) = match find_duration(body) {
        Some((t, ms)) => (Some(t), Some(ms)),
        None => (None, None),
    };
    let copyright_holder = after_key(
        body,
        &[
            "版权方",
            "版权所有",
            "版权归",
            "版权单位",
            "版权属于",
            "版权",
        ],
    )
    .map(|h| h.strip_suffix("所有").unwrap_or(h).trim().to_string())
    .filter(|h| !h.is_empty());
    let summary = entry.trim().to_string();
    WorkDraft {
        title,
        title_from: title_from.to_string(),
        duration_ms,
        duration_text,
        copyright_holder,
        summary_chars: notice_chars(&summary),
        summary,
        production_status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_durations_and_holders() {
        let d =
            parse_entry("《深海勇士》，时长12分钟，版权方：中国科学院深海所。讲述深潜器的故事。");
        assert_eq!(d.title, "深海勇士");
        assert_eq!(d.title_from, "书名号《》");
        assert_eq!(d.duration_ms, Some(720_000));
        assert_eq!(d.copyright_holder.as_deref(), Some("中国科学院深海所"));
        let d = parse_entry("走进国家天文台，时长00:05:30，版权归国家天文台所有");
        assert_eq!(d.title, "走进国家天文台");
        assert_eq!(d.title_from, "首句");
        assert_eq!(d.duration_ms, Some(330_000));
        assert_eq!(d.copyright_holder.as_deref(), Some("国家天文台"));
        let d = parse_entry("作品名称：超导之光；时长：1小时；版权方为某研究所");
        assert_eq!(d.title, "超导之光");
        assert_eq!(d.duration_ms, Some(3_600_000));
        assert_eq!(d.copyright_holder.as_deref(), Some("某研究所"));
    }

    #[test]
    fn entries_are_split_at_numbers_or_titles_and_prompts_dropped() {
        let cell = format!(
            "{}\n1. 《甲》，时长3分钟\n版权方：甲单位\n2、《乙》，时长 00:10:00",
            PROMPTS[0]
        );
        let e = split_entries(&cell);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            parse_entry(&e[0]).copyright_holder.as_deref(),
            Some("甲单位")
        );
        assert_eq!(parse_entry(&e[1]).duration_ms, Some(600_000));
        let e = split_entries("《甲》3分钟\n《乙》4分钟");
        assert_eq!(e.len(), 2);
        assert_eq!(split_entries("一部作品\n第二行说明").len(), 1);
    }

    #[test]
    fn the_notice_counts_characters_not_bytes_or_blanks() {
        assert_eq!(notice_chars("科普 之光\nAI"), 6);
        assert_eq!(notice_chars(&"科".repeat(200)), 200);
    }
}
