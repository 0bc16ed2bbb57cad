//! A unit's end-of-month summary (数据反馈月度汇总) as an A4 PDF that sits beside its
//! certificates: its works aired (airings, time on air, peak and average concurrent viewers
//! and interactions while on air, from the as-run attribution), its relay channels and their
//! audience, its reporting, and its programmes (the most-watched first, at most
//! [`MAX_PROGRAMMES`], the rest as “等 N 次”). Pages never overflow (every text is clipped).
//! Pure and blocking: data in, bytes out; call it off the async runtime.

use super::attribution::{Attribution, UnitFigures};
use super::repo::Channel;
use super::report::{ReportMeta, beijing};
use crate::pdf_text::{GREY, PAGE_H, PAGE_W, RED, Text, clip, draw};
use crate::store::{Error, Result};
use pangocairo::cairo;
use pangocairo::pango;

/// Most programme lines printed; more become “等 N 次”.
pub const MAX_PROGRAMMES: usize = 24;
/// Most relay channels printed.
pub const MAX_CHANNELS: usize = 10;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "feedback summary PDF: {what}");
    Error::Unavailable(format!("数据反馈汇总 PDF 生成失败（{what}）"))
}

/// `H小时MM分` of a length in ms.
fn hours_minutes(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    format!("{}小时{:02}分", m / 60, m % 60)
}

/// The lines of the facts block, in order (what the PDF prints and the test reads).
pub fn fact_lines(unit: &str, meta: &ReportMeta, f: Option<&UnitFigures>) -> Vec<String> {
    // Whole Beijing days: the period ends just before `to_ms`.
    let day = |ms: i64| beijing(ms).get(..10).unwrap_or_default().to_string();
    let period = format!(
        "统计期间：{} 至 {}（北京时间，含首尾两日）",
        day(meta.from_ms),
        day(meta.to_ms - 1)
    );
    let mut lines = vec![format!("报送单位：{}", clip(unit, 40)), period];
    match f {
        None => lines.push("本期间没有该单位作品的播出记录与数据反馈。".into()),
        Some(f) => {
            lines.push(format!(
                "作品播出：{} 次，共 {}",
                f.works.airings,
                hours_minutes(f.works.aired_ms)
            ));
            lines.push(format!(
                "播出时段在线：最高 {} 人，平均 {} 人；互动 {} 次",
                f.works.peak_viewers, f.works.avg_viewers, f.works.interactions
            ));
            lines.push(format!(
                "转播渠道：{} 个；渠道在线最高 {} 人，平均 {} 人；渠道互动 {} 次",
                f.relays,
                f.relay_audience.peak_viewers,
                f.relay_audience.avg_viewers,
                f.relay_audience.interactions
            ));
            lines.push(format!(
                "数据报送：应报 {} 项，已报 {} 项",
                f.reports_expected, f.reports_made
            ));
        }
    }
    lines
}

/// The programme lines as printed: the unit's airings, most-watched first, at most
/// [`MAX_PROGRAMMES`] (the rest as “等 N 次”).
pub fn programme_lines(a: &Attribution, unit_id: i64) -> Vec<String> {
    let mut mine: Vec<_> = a
        .programmes
        .iter()
        .filter(|p| p.unit_id == Some(unit_id))
        .collect();
    mine.sort_by_key(|p| (std::cmp::Reverse(p.audience.peak_viewers), p.start_ms));
    let n = mine.len();
    let shown = if n > MAX_PROGRAMMES {
        MAX_PROGRAMMES - 1
    } else {
        n
    };
    let mut lines: Vec<String> = mine
        .iter()
        .take(shown)
        .map(|p| {
            format!(
                "{}  《{}》  最高 {} 人 · 平均 {} 人 · 互动 {}",
                beijing(p.start_ms),
                clip(&p.title, 24),
                p.audience.peak_viewers,
                p.audience.avg_viewers,
                p.audience.interactions
            )
        })
        .collect();
    if shown < n {
        lines.push(format!("……等 {n} 次"));
    }
    lines
}

/// The summary of unit `unit_id` (named `unit`) as PDF bytes (one A4 page).
///
/// # Errors
/// [`Error::Unavailable`] when cairo cannot draw (logged with the cause).
pub fn pdf(
    a: &Attribution,
    unit_id: i64,
    unit: &str,
    channels: &[Channel],
    meta: &ReportMeta,
    edition: &str,
    generated_ms: i64,
) -> Result<Vec<u8>> {
    let surface = cairo::PdfSurface::for_stream(PAGE_W, PAGE_H, Vec::<u8>::new())
        .map_err(|e| failed("surface", e))?;
    {
        let cr = cairo::Context::new(&surface).map_err(|e| failed("context", e))?;
        let facts = fact_lines(unit, meta, a.units.get(&unit_id));
        let programmes = programme_lines(a, unit_id);
        let mine: Vec<&Channel> = channels
            .iter()
            .filter(|c| c.unit_id == Some(unit_id))
            .collect();
        page(&cr, edition, &facts, &programmes, &mine, generated_ms)
            .map_err(|e| failed("drawing", e))?;
        cr.show_page().map_err(|e| failed("page", e))?;
    }
    let stream = surface
        .finish_output_stream()
        .map_err(|e| failed("output", e.error))?;
    stream
        .downcast::<Vec<u8>>()
        .map(|b| *b)
        .map_err(|_| failed("output", "unexpected stream type"))
}

fn page(
    cr: &cairo::Context,
    edition: &str,
    facts: &[String],
    programmes: &[String],
    channels: &[&Channel],
    generated_ms: i64,
) -> std::result::Result<(), cairo::Error> {
    cr.set_source_rgb(1.0, 1.0, 1.0);
    cr.rectangle(0.0, 0.0, PAGE_W, PAGE_H);
    cr.fill()?;
    let left = 56.0;
    let width = PAGE_W - 2.0 * left;
    let mut y = 56.0;
    let centred = |text, size, color, bold| Text {
        bold,
        color,
        align: pango::Alignment::Center,
        max_lines: 2,
        ..Text::plain(text, size)
    };
    y += draw(
        cr,
        &centred("数据反馈月度汇总", 24.0, RED, true),
        left,
        y,
        width,
    );
    y += 6.0;
    let edition = clip(edition, 50);
    y += draw(cr, &centred(&edition, 12.0, GREY, false), left, y, width);
    y += 20.0;
    for line in facts {
        y += draw(cr, &Text::plain(line, 11.5), left, y, width) + 4.0;
    }
    y += 12.0;
    let heading = |t| Text {
        bold: true,
        color: RED,
        ..Text::plain(t, 13.0)
    };
    y += draw(cr, &heading("播出明细（按最高在线排序）"), left, y, width) + 4.0;
    if programmes.is_empty() {
        y += draw(cr, &Text::plain("（无）", 10.0), left, y, width) + 2.0;
    }
    for line in programmes {
        y += draw(cr, &Text::plain(line, 9.5), left + 8.0, y, width - 8.0) + 2.0;
    }
    y += 12.0;
    y += draw(cr, &heading("转播渠道"), left, y, width) + 4.0;
    if channels.is_empty() {
        y += draw(cr, &Text::plain("（未登记）", 10.0), left, y, width) + 2.0;
    }
    for c in channels.iter().take(MAX_CHANNELS) {
        let line = format!(
            "{}  {}",
            super::model::platform_label(&c.platform),
            clip(&c.account_name, 30)
        );
        y += draw(cr, &Text::plain(&line, 10.0), left + 8.0, y, width - 8.0) + 2.0;
    }
    if channels.len() > MAX_CHANNELS {
        let more = format!("……共 {} 个", channels.len());
        draw(cr, &Text::plain(&more, 10.0), left + 8.0, y, width - 8.0);
    }
    let foot = format!(
        "生成时间：{}（北京时间）　数据来源：播出记录（as-run）与各平台数据反馈",
        beijing(generated_ms)
    );
    draw(
        cr,
        &Text {
            color: GREY,
            ..Text::plain(&foot, 9.0)
        },
        left,
        PAGE_H - 56.0,
        width,
    );
    Ok(())
}
