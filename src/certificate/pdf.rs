//! The certificate as a one-page A4 PDF, drawn with cairo and laid out with pango (CJK text
//! through fontconfig: WenQuanYi Zen Hei, else Noto Sans CJK SC, else any sans). The work is
//! bounded: every text is clipped to a fixed number of characters and lines, and at most
//! [`MAX_AIRINGS`] airings are listed (the rest as “等 N 次”), so the page never overflows
//! whatever a submitter typed. Synchronous and CPU-bound: call it off the async runtime.

use super::code::grouped;
use super::model::Certificate;
pub use crate::pdf_text::{FONT_FAMILY, clip};
use crate::pdf_text::{GREY, PAGE_H, PAGE_W, RED, Text, draw};
use crate::store::{Error, Result};
use pangocairo::cairo;
use pangocairo::pango;

/// Most airing lines printed; more become “等 N 次”.
pub const MAX_AIRINGS: usize = 12;
/// Longest title and names printed, in characters (longer ones end in “…”).
const MAX_TITLE: usize = 60;
const MAX_NAME: usize = 40;
/// Most lines of the body text.
const BODY_LINES: i32 = 7;
/// Where the foot (issuer, date, code) starts; the flowing text must end above it.
const FOOT_TOP: f64 = PAGE_H - 170.0;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "certificate PDF: {what}");
    Error::Unavailable(format!("证明 PDF 生成失败（{what}）"))
}

/// The airing lines as printed: all when few, else the first `MAX_AIRINGS - 1` and “等 N 次”.
pub fn airing_lines(c: &Certificate) -> Vec<String> {
    let n = c.airings.len();
    let shown = if n > MAX_AIRINGS { MAX_AIRINGS - 1 } else { n };
    let mut lines: Vec<String> = c
        .airings
        .iter()
        .take(shown)
        .enumerate()
        .map(|(i, a)| format!("{:>2}.  {}  {}", i + 1, a.date, a.time_range))
        .collect();
    if shown < n {
        lines.push(format!("……等 {n} 次"));
    }
    lines
}

/// The certificate as PDF bytes (one A4 page).
pub fn render(c: &Certificate) -> Result<Vec<u8>> {
    let surface = cairo::PdfSurface::for_stream(PAGE_W, PAGE_H, Vec::<u8>::new())
        .map_err(|e| failed("surface", e))?;
    {
        let cr = cairo::Context::new(&surface).map_err(|e| failed("context", e))?;
        let bottom = page(&cr, c).map_err(|e| failed("drawing", e))?;
        if bottom > FOOT_TOP {
            tracing::warn!(code = %c.code, bottom, "certificate text runs into the foot");
        }
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

/// Draws the page; returns where the flowing text ended (to stay above [`FOOT_TOP`]).
fn page(cr: &cairo::Context, c: &Certificate) -> std::result::Result<f64, cairo::Error> {
    // Paper and a double red frame.
    cr.set_source_rgb(1.0, 0.992, 0.973);
    cr.rectangle(0.0, 0.0, PAGE_W, PAGE_H);
    cr.fill()?;
    cr.set_source_rgb(RED.0, RED.1, RED.2);
    cr.set_line_width(2.4);
    cr.rectangle(36.0, 36.0, PAGE_W - 72.0, PAGE_H - 72.0);
    cr.stroke()?;
    cr.set_line_width(0.8);
    cr.rectangle(42.0, 42.0, PAGE_W - 84.0, PAGE_H - 84.0);
    cr.stroke()?;

    let left = 78.0;
    let width = PAGE_W - 2.0 * left;
    let mut y = 92.0;
    y += draw(
        cr,
        &Text {
            bold: true,
            color: RED,
            align: pango::Alignment::Center,
            ..Text::plain("活 动 参 与 证 明", 34.0)
        },
        left,
        y,
        width,
    );
    y += 10.0;
    let edition = clip(&c.edition, MAX_NAME);
    y += draw(
        cr,
        &Text {
            color: GREY,
            align: pango::Alignment::Center,
            max_lines: 2,
            ..Text::plain(&edition, 13.0)
        },
        left,
        y,
        width,
    );
    y += 30.0;

    let n = c.airings.len();
    let body = format!(
        "\u{3000}\u{3000}兹证明，{unit}报送的作品《{title}》参与{edition}，\
         并于以下时间（北京时间）播出，共 {n} 次。特发此证。",
        unit = clip(&c.unit_name, MAX_NAME),
        title = clip(&c.title, MAX_TITLE),
    );
    y += draw(
        cr,
        &Text {
            max_lines: BODY_LINES,
            ..Text::plain(&body, 15.0)
        },
        left,
        y,
        width,
    );
    y += 18.0;

    for line in airing_lines(c) {
        y += draw(cr, &Text::plain(&line, 11.5), left + 14.0, y, width - 14.0) + 3.0;
    }
    y += 12.0;
    if let Some(h) = c
        .copyright_holder
        .as_deref()
        .filter(|h| !h.trim().is_empty())
    {
        let line = format!("版权方：{}", clip(h, MAX_NAME));
        y += draw(cr, &Text::plain(&line, 11.5), left, y, width) + 3.0;
    }
    let line = format!("报送单位：{}", clip(&c.unit_name, MAX_NAME));
    y += draw(cr, &Text::plain(&line, 11.5), left, y, width);

    // The foot, at fixed places: issuer and date on the right, the code on the left.
    let foot = FOOT_TOP;
    let right = Text {
        align: pango::Alignment::Right,
        max_lines: 2,
        ..Text::plain(&edition, 12.0)
    };
    let h = draw(cr, &right, left, foot, width);
    let issued = format!("发证日期：{}", c.issued_on);
    draw(
        cr,
        &Text {
            align: pango::Alignment::Right,
            ..Text::plain(&issued, 12.0)
        },
        left,
        foot + h + 6.0,
        width,
    );
    let code = format!("验证码：{}", grouped(&c.code));
    draw(cr, &Text::plain(&code, 13.0), left, foot + 56.0, width);
    let path = format!("验证网址：{}", c.verify_path());
    draw(
        cr,
        &Text {
            color: GREY,
            ..Text::plain(&path, 11.0)
        },
        left,
        foot + 80.0,
        width,
    );
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::model::CertifiedAiring;

    fn cert(airings: usize, title: &str) -> Certificate {
        Certificate {
            code: "ABCDEFGHJKLMNPQR".into(),
            work_id: 1,
            unit_id: 1,
            title: title.into(),
            unit_name: "中国科学技术馆".into(),
            copyright_holder: Some("版权方".into()),
            edition: "2026年「科普之光」全国科普月大型网络展播".into(),
            airings: (0..airings)
                .map(|i| CertifiedAiring {
                    first_frame_ms: i as i64,
                    last_frame_ms: None,
                    date: "2026年9月1日".into(),
                    time_range: "20:00:00—20:10:00".into(),
                })
                .collect(),
            issued_at_ms: 0,
            issued_on: "2026年9月2日".into(),
        }
    }

    #[test]
    fn certificate_pdf_text_is_bounded() {
        assert_eq!(clip("短标题", 10), "短标题");
        assert_eq!(clip(&"长".repeat(200), 10).chars().count(), 10);
        assert!(clip(&"长".repeat(200), 10).ends_with('…'));
        assert_eq!(airing_lines(&cert(3, "t")).len(), 3);
        let many = airing_lines(&cert(500, "t"));
        assert_eq!(many.len(), MAX_AIRINGS);
        assert_eq!(many.last().map(String::as_str), Some("……等 500 次"));
    }

    #[test]
    fn certificate_pdf_worst_case_stays_above_the_foot() {
        let mut c = cert(500, &"很长的标题".repeat(100));
        c.unit_name = "某".repeat(300);
        c.copyright_holder = Some("权".repeat(300));
        c.edition = "届".repeat(300);
        let surface =
            cairo::PdfSurface::for_stream(PAGE_W, PAGE_H, Vec::<u8>::new()).expect("surface");
        let cr = cairo::Context::new(&surface).expect("context");
        let bottom = page(&cr, &c).expect("draws");
        assert!(
            bottom < FOOT_TOP,
            "{bottom} runs into the foot at {FOOT_TOP}"
        );
    }

    #[test]
    fn certificate_pdf_is_one_pdf() {
        let pdf = render(&cert(40, &"很长的标题".repeat(100))).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"), "a PDF");
        assert!(pdf.len() < 2_000_000, "bounded size: {}", pdf.len());
    }
}
