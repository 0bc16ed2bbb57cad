//! Text on A4 PDF pages for people (certificates, the units' summaries): CJK through
//! fontconfig (WenQuanYi Zen Hei, else Noto Sans CJK SC, else any sans), laid out with pango
//! on cairo, every block bounded in characters and lines so a page never overflows whatever
//! a submitter typed. Synchronous and CPU-bound: call it off the async runtime.

use pangocairo::cairo;
use pangocairo::pango;

/// The font families, in order of preference.
pub const FONT_FAMILY: &str = "WenQuanYi Zen Hei, Noto Sans CJK SC, sans";
/// A4 width in points.
pub const PAGE_W: f64 = 595.276;
/// A4 height in points.
pub const PAGE_H: f64 = 841.89;

/// The seal red of the broadcast's documents.
pub const RED: (f64, f64, f64) = (0.643, 0.086, 0.102);
/// Body text.
pub const INK: (f64, f64, f64) = (0.12, 0.12, 0.12);
/// Secondary text.
pub const GREY: (f64, f64, f64) = (0.4, 0.4, 0.4);

/// At most `max` characters of `s` (whitespace runs collapsed), `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One block of text.
pub struct Text<'a> {
    /// The text.
    pub text: &'a str,
    /// Size in points.
    pub size: f64,
    /// Bold.
    pub bold: bool,
    /// Colour, RGB 0–1.
    pub color: (f64, f64, f64),
    /// Alignment in its box.
    pub align: pango::Alignment,
    /// At most this many lines (ellipsized after).
    pub max_lines: i32,
}

impl Text<'_> {
    /// Left-aligned ink, one line.
    pub fn plain(text: &str, size: f64) -> Text<'_> {
        Text {
            text,
            size,
            bold: false,
            color: INK,
            align: pango::Alignment::Left,
            max_lines: 1,
        }
    }
}

/// Draws `t` at (`x`, `y`) in a box `width` wide; returns its height.
pub fn draw(cr: &cairo::Context, t: &Text<'_>, x: f64, y: f64, width: f64) -> f64 {
    let layout = pangocairo::functions::create_layout(cr);
    let mut font = pango::FontDescription::new();
    font.set_family(FONT_FAMILY);
    font.set_absolute_size(t.size * f64::from(pango::SCALE));
    if t.bold {
        font.set_weight(pango::Weight::Bold);
    }
    layout.set_font_description(Some(&font));
    layout.set_width((width * f64::from(pango::SCALE)) as i32);
    layout.set_wrap(pango::WrapMode::WordChar);
    layout.set_ellipsize(pango::EllipsizeMode::End);
    layout.set_height(-t.max_lines.max(1));
    layout.set_alignment(t.align);
    layout.set_spacing((t.size * 0.45 * f64::from(pango::SCALE)) as i32);
    layout.set_text(t.text);
    cr.set_source_rgb(t.color.0, t.color.1, t.color.2);
    cr.move_to(x, y);
    pangocairo::functions::show_layout(cr, &layout);
    f64::from(layout.pixel_size().1)
}
