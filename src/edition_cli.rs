//! `kepu-playout edition …`: write next year's edition from this year's (`edition new 2027
//! --from 2026`) and check an edition file (`edition check FILE`) with `file:line` errors.
//!
//! An edge of the crate: the date rules are `edition::next` (a leaf, pure); the checks are
//! the edition's own validation, the rundown's `[schedule]` compile step, and the few rules
//! that tie the two together (same window, same year, 全国科普日 on the third Saturday of
//! September). Errors are Chinese, each on its own `FILE:LINE: field: why` line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::edition::next::{field_line, next_edition, science_day};
use crate::edition::{Edition, EditionError};
use crate::rundown::config::{ConfigError, ScheduleConfig};

/// `edition` command line.
#[derive(Debug, clap::Args)]
pub struct EditionArgs {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: EditionCommand,
}

/// `edition` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EditionCommand {
    /// Write the edition of YEAR from an earlier one, dates moved, for a person to review.
    New {
        /// The new edition's year, e.g. 2027.
        year: i32,
        /// The edition to start from: a year (2026: the built-in edition, or
        /// schedules/editions/YEAR.toml when it exists) or a file.
        #[arg(long)]
        from: String,
        /// Where to write it (default: YEAR.toml in the current directory). An existing
        /// file is not overwritten.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an edition file: every rule, with file:line errors.
    Check {
        /// The edition file.
        file: PathBuf,
    },
}

/// One problem of an edition file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// File.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted field.
    pub field: String,
    /// What is wrong (Chinese).
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}：{}", self.file, self.field, self.message),
            None => write!(f, "{}: {}：{}", self.file, self.field, self.message),
        }
    }
}

/// Runs an `edition` command.
pub fn run(args: EditionArgs) -> Result<()> {
    match args.command {
        EditionCommand::New { year, from, out } => cmd_new(year, &from, out, args.json),
        EditionCommand::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("无法读取届次配置 {}", file.display()))?;
            let problems = check(&text, &file.display().to_string());
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "file": file.display().to_string(),
                        "ok": problems.is_empty(),
                        "problems": problems,
                    }))?
                );
            }
            if problems.is_empty() {
                if !args.json {
                    let e = Edition::parse(&text, &file.display().to_string())?;
                    println!(
                        "{}：{} 年届次配置无误，播出窗口 {} 至 {}",
                        file.display(),
                        e.edition.year,
                        e.window_start(),
                        e.window_end()
                    );
                }
                Ok(())
            } else {
                if !args.json {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                }
                bail!("{} 有 {} 处问题", file.display(), problems.len())
            }
        }
    }
}

/// The source text of edition `from`: a file path, or a year (the shipped file of that year
/// next to the binary's working directory, or the built-in edition for its year).
fn source_of(from: &str) -> Result<(String, i32, String)> {
    if let Ok(year) = from.parse::<i32>() {
        let shipped = Path::new("schedules/editions").join(format!("{year}.toml"));
        if shipped.is_file() {
            let text = std::fs::read_to_string(&shipped)?;
            return Ok((text, year, shipped.display().to_string()));
        }
        let builtin = crate::serve::edition_at(None)?;
        if builtin.edition.year == year {
            return Ok((
                crate::serve::BUILTIN_EDITION.to_string(),
                year,
                crate::serve::BUILTIN_EDITION_NAME.to_string(),
            ));
        }
        bail!(
            "没有 {year} 年的届次配置：内置的是 {} 年；请用 --from 指定文件",
            builtin.edition.year
        );
    }
    let path = Path::new(from);
    let text = std::fs::read_to_string(path).with_context(|| format!("无法读取届次配置 {from}"))?;
    let e = Edition::parse(&text, from)?;
    Ok((text, e.edition.year, from.to_string()))
}

fn cmd_new(year: i32, from: &str, out: Option<PathBuf>, json: bool) -> Result<()> {
    let (text, from_year, origin) = source_of(from)?;
    if year <= from_year {
        bail!("新届次年份 {year} 须晚于 {from_year}");
    }
    let next = next_edition(&text, from_year, year);
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{year}.toml")));
    if out.exists() {
        bail!("{} 已存在，不覆盖（用 --out 另选文件名）", out.display());
    }
    let problems = check(&next.text, &out.display().to_string());
    std::fs::write(&out, &next.text).with_context(|| format!("无法写入 {}", out.display()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": out.display().to_string(),
                "from": origin,
                "changes": next.changes,
                "review": next.review,
                "problems": problems,
            }))?
        );
        return Ok(());
    }
    println!(
        "已由 {origin} 生成 {year} 年届次配置：{}（{} 处日期或年份已顺延）",
        out.display(),
        next.changes.len()
    );
    for c in &next.changes {
        println!("  {c}");
    }
    if !next.review.is_empty() {
        println!("请人工复核：");
        for r in &next.review {
            println!("  {r}");
        }
    }
    for p in &problems {
        println!("  问题：{p}");
    }
    println!("复核后校验：kepu-playout edition check {}", out.display());
    Ok(())
}

/// Every problem of the edition text `text` (from `file`): the edition's rules, the
/// rundown's `[schedule]`, and the rules tying them together. Empty when it can be used.
pub fn check(text: &str, file: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let problem = |field: &str, message: String, line: Option<usize>| Problem {
        file: file.to_string(),
        line: line.or_else(|| field_line(text, field)),
        field: field.to_string(),
        message,
    };
    let edition = match Edition::parse(text, file) {
        Ok(e) => Some(e),
        Err(EditionError::Parse { message, .. }) => {
            out.push(problem("toml", first_line(&message), parse_line(&message)));
            None
        }
        Err(EditionError::Invalid { field, reason, .. }) => {
            out.push(problem(&field, reason, None));
            None
        }
        Err(e) => {
            out.push(problem("file", e.to_string(), None));
            None
        }
    };
    let Some(edition) = edition else {
        return out;
    };
    if edition.schedule.is_none() {
        out.push(problem(
            "schedule",
            "缺少 [schedule] 表（版块、日模板、时段），无法编排节目单".into(),
            None,
        ));
        return out;
    }
    let cs = match ScheduleConfig::from_toml_str(text, file).and_then(|c| c.compile(file)) {
        Ok(cs) => Some(cs),
        Err(ConfigError::Invalid(issues)) => {
            for i in issues {
                let field = format!("schedule.{}", i.field);
                out.push(problem(&field, i.message, None));
            }
            None
        }
        Err(ConfigError::Parse { message, .. }) => {
            out.push(problem(
                "schedule",
                first_line(&message),
                parse_line(&message),
            ));
            None
        }
        Err(e) => {
            out.push(problem("schedule", e.to_string(), None));
            None
        }
    };
    let Some(cs) = cs else { return out };
    let c = &cs.config;
    if c.first_day != edition.window_start() {
        out.push(problem(
            "schedule.first_day",
            format!(
                "{} 与播出窗口开始 edition.window_start（{}）不一致",
                c.first_day,
                edition.window_start()
            ),
            None,
        ));
    }
    if c.last_day != edition.window_end() {
        out.push(problem(
            "schedule.last_day",
            format!(
                "{} 与播出窗口结束 edition.window_end（{}）不一致",
                c.last_day,
                edition.window_end()
            ),
            None,
        ));
    }
    if c.edition != edition.edition.year.to_string() {
        out.push(problem(
            "schedule.edition",
            format!(
                "“{}” 与 edition.year（{}）不一致",
                c.edition, edition.edition.year
            ),
            None,
        ));
    }
    for (i, d) in c.day.iter().enumerate() {
        let field = format!("schedule.day[{i}].date");
        if d.date < c.first_day || d.date > c.last_day {
            out.push(problem(
                &field,
                format!(
                    "{} 不在播出窗口 {} 至 {} 内",
                    d.date, c.first_day, c.last_day
                ),
                None,
            ));
        }
        let science = science_day(edition.edition.year);
        if d.name.as_deref().is_some_and(|n| n.contains("全国科普日")) && Some(d.date) != science
        {
            out.push(problem(
                &field,
                format!(
                    "全国科普日为 9 月第三个星期六（{}），此处为 {}",
                    science.map_or("-".into(), |s| s.to_string()),
                    d.date
                ),
                None,
            ));
        }
    }
    out
}

/// The parser's words without its source snippet ("TOML parse error at line 7, column 3",
/// the quoted line and the caret dropped; "unknown field `x`, expected …" kept).
fn first_line(message: &str) -> String {
    let words: Vec<&str> = message
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l
                    .split_once(" |")
                    .is_some_and(|(n, _)| n.trim().chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    if words.is_empty() {
        message.lines().next().unwrap_or(message).trim().to_string()
    } else {
        words.join(" ")
    }
}

/// The line of a `toml` parse error ("TOML parse error at line 7, column 3").
fn parse_line(message: &str) -> Option<usize> {
    let rest = message.split("line ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_edition_checks_clean_and_a_bad_one_names_file_and_line() {
        assert!(
            check(crate::serve::BUILTIN_EDITION, "2026.toml").is_empty(),
            "{:?}",
            check(crate::serve::BUILTIN_EDITION, "2026.toml")
        );
        let bad = crate::serve::BUILTIN_EDITION
            .replace("window_end = 2026-09-30", "window_end = 2026-08-30");
        let p = check(&bad, "bad.toml");
        assert!(!p.is_empty());
        let line = crate::serve::BUILTIN_EDITION
            .lines()
            .position(|l| l.starts_with("window_end"))
            .map(|i| i + 1);
        assert_eq!(p[0].line, line, "{p:?}");
        assert!(p[0].to_string().starts_with("bad.toml:"), "{}", p[0]);
        let typo = crate::serve::BUILTIN_EDITION.replace("min_height", "min_hieght");
        let p = check(&typo, "typo.toml");
        assert!(
            p[0].line.is_some() && p[0].message.contains("min_hieght"),
            "{p:?}"
        );
    }

    #[test]
    fn next_year_from_the_builtin_checks_clean() {
        let n = next_edition(crate::serve::BUILTIN_EDITION, 2026, 2027);
        let p = check(&n.text, "2027.toml");
        assert!(p.is_empty(), "{p:?}");
        let e = Edition::parse(&n.text, "2027.toml").expect("parses");
        assert_eq!(e.window_start().to_string(), "2027-09-01");
        assert_eq!(e.window_end().to_string(), "2027-09-30");
    }
}
