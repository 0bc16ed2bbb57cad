//! XMLTV export of the programme list, for EPG consumers and set-top guides. Valid against
//! the XMLTV DTD (`tests/fixtures/xmltv.dtd`); times carry the zone offset (`+0800`).

use chrono::{DateTime, Utc};

use super::Day;
use super::export::ListOptions;
use super::time::fmt_frames_short;

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn xmltv_time(day: &Day, t: DateTime<Utc>) -> String {
    t.with_timezone(&day.tz())
        .format("%Y%m%d%H%M%S %z")
        .to_string()
}

/// The XMLTV document for `days` on channel `channel_id` named `channel_name`.
pub fn to_xmltv(days: &[&Day], channel_id: &str, channel_name: &str, opts: ListOptions) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n");
    x.push_str(&format!(
        "<tv source-info-name=\"{}\" generator-info-name=\"kepu-playout\">\n",
        esc("「科普之光」全国科普月大型网络展播")
    ));
    x.push_str(&format!(
        "  <channel id=\"{}\">\n    <display-name lang=\"zh\">{}</display-name>\n  </channel>\n",
        esc(channel_id),
        esc(channel_name)
    ));
    for day in days {
        for it in day
            .items
            .iter()
            .filter(|i| opts.include_filler || i.kind.is_programme())
        {
            let end = it.end(day.rate);
            x.push_str(&format!(
                "  <programme start=\"{}\" stop=\"{}\" channel=\"{}\">\n",
                xmltv_time(day, it.start),
                xmltv_time(day, end),
                esc(channel_id)
            ));
            x.push_str(&format!(
                "    <title lang=\"zh\">{}</title>\n",
                esc(&it.title)
            ));
            if !it.block.is_empty() && it.block != it.section {
                x.push_str(&format!(
                    "    <sub-title lang=\"zh\">{}</sub-title>\n",
                    esc(&it.block)
                ));
            }
            let mut desc = Vec::new();
            if !it.copyright_holder.is_empty() {
                desc.push(format!("版权方：{}", it.copyright_holder));
            }
            if !it.unit.is_empty() {
                desc.push(format!("报送单位：{}", it.unit));
            }
            desc.push(format!("时长：{}", fmt_frames_short(day.rate, it.frames)));
            x.push_str(&format!(
                "    <desc lang=\"zh\">{}</desc>\n",
                esc(&desc.join("；"))
            ));
            if !it.section.is_empty() {
                x.push_str(&format!(
                    "    <category lang=\"zh\">{}</category>\n",
                    esc(&it.section)
                ));
            }
            x.push_str("    <language>zh</language>\n");
            x.push_str(&format!(
                "    <length units=\"seconds\">{}</length>\n",
                day.rate.ms_of(it.frames) / 1000
            ));
            if it.premiere {
                x.push_str("    <premiere lang=\"zh\">首播</premiere>\n");
            }
            x.push_str("  </programme>\n");
        }
    }
    x.push_str("</tv>\n");
    x
}
