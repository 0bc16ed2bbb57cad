//! The printable programme list (节目单) as one self-contained HTML page in Chinese: per day
//! a table of time, section, title, duration and copyright holder, as the notice requires,
//! one day per printed page.

use chrono::Datelike;

use super::Day;
use super::export::{ListOptions, clock_in_day};
use super::time::fmt_frames_short;
use super::xmltv::esc;

const WEEKDAYS: [&str; 7] = [
    "星期一",
    "星期二",
    "星期三",
    "星期四",
    "星期五",
    "星期六",
    "星期日",
];

/// The page for `days` under `heading` (e.g. the event's name).
pub fn to_html(days: &[&Day], heading: &str, opts: ListOptions) -> String {
    let mut h = String::new();
    let title = match (days.first(), days.last()) {
        (Some(a), Some(b)) if a.date != b.date => format!("{heading} 节目单 {}–{}", a.date, b.date),
        (Some(a), _) => format!("{heading} 节目单 {}", a.date),
        _ => format!("{heading} 节目单"),
    };
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!("<title>{}</title>\n", esc(&title)));
    h.push_str(
        "<style>\n\
         body { font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", \"Microsoft YaHei\", \"PingFang SC\", sans-serif; margin: 2em; color: #111; }\n\
         h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }\n\
         table { border-collapse: collapse; width: 100%; font-size: 0.9em; }\n\
         th, td { border: 1px solid #999; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }\n\
         th { background: #eee; } td.t { white-space: nowrap; font-variant-numeric: tabular-nums; }\n\
         @media print { body { margin: 0; } section.day { page-break-after: always; } thead { display: table-header-group; } }\n\
         </style>\n</head>\n<body>\n",
    );
    h.push_str(&format!("<h1>{}</h1>\n", esc(&title)));
    for day in days {
        h.push_str("<section class=\"day\">\n");
        h.push_str(&format!(
            "<h2>{}年{}月{}日 {}</h2>\n",
            day.date.year(),
            day.date.month(),
            day.date.day(),
            WEEKDAYS[day.date.weekday().num_days_from_monday() as usize]
        ));
        h.push_str("<table>\n<thead><tr><th>时间</th><th>版块</th><th>节目名称</th><th>时长</th><th>版权方</th></tr></thead>\n<tbody>\n");
        for it in day
            .items
            .iter()
            .filter(|i| opts.include_filler || i.kind.is_programme())
        {
            let d = fmt_frames_short(day.rate, it.frames);
            h.push_str(&format!(
                "<tr><td class=\"t\">{}–{}</td><td>{}</td><td>{}{}</td><td class=\"t\">{}</td><td>{}</td></tr>\n",
                clock_in_day(day, it.start),
                clock_in_day(day, it.end(day.rate)),
                esc(&it.section),
                esc(&it.title),
                if it.premiere { "（首播）" } else { "" },
                esc(d.get(..8).unwrap_or(&d)),
                esc(&it.copyright_holder)
            ));
        }
        h.push_str("</tbody>\n</table>\n</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}
