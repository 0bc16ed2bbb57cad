//! The certificate as a printable A4 web page (inline CSS, `@page { size: A4 }`, Chinese
//! typography, the code and the verification path printed on it) and the small public page
//! of `/verify/{code}`. Every text from the catalog is escaped: titles and names come from
//! submitters. Pure: strings in, a string out.

use super::code::grouped;
use super::model::Certificate;
use std::fmt::Write as _;

/// `s` safe as HTML text and as a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const FONTS: &str = "\"Source Han Serif SC\", \"Noto Serif CJK SC\", \"Songti SC\", \
                     \"SimSun\", \"WenQuanYi Zen Hei\", serif";

const CERT_CSS: &str = "
@page { size: A4; margin: 0; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { background: #e9e6df; color: #1f1f1f; font-family: FONTS; }
.sheet { width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 22mm 22mm 18mm;
  background: #fffdf8; position: relative; }
.frame { border: 1.2mm double #a4161a; min-height: 257mm; padding: 16mm 14mm 12mm;
  display: flex; flex-direction: column; }
h1 { margin: 4mm 0 2mm; text-align: center; font-size: 30pt; letter-spacing: 0.6em;
  text-indent: 0.6em; color: #a4161a; font-weight: 700; }
.edition { text-align: center; font-size: 12.5pt; color: #555; margin-bottom: 12mm; }
.body { font-size: 14pt; line-height: 2; text-indent: 2em; text-align: justify; }
.body strong { font-weight: 700; }
table { width: 100%; border-collapse: collapse; margin: 6mm 0 4mm; font-size: 11pt; }
th, td { border-bottom: 0.3mm solid #d8cfc0; padding: 1.6mm 2mm; text-align: left; }
th { color: #555; font-weight: 400; }
td.n { width: 12mm; color: #777; font-variant-numeric: tabular-nums; }
td.t { font-variant-numeric: tabular-nums; }
.meta { font-size: 11.5pt; line-height: 1.9; margin-top: 2mm; }
.meta span { color: #666; }
.foot { margin-top: auto; display: flex; justify-content: space-between; align-items: flex-end;
  font-size: 11pt; }
.code { font-family: \"DejaVu Sans Mono\", Consolas, monospace; font-size: 14pt;
  letter-spacing: 0.08em; }
.issuer { text-align: right; line-height: 1.8; }
@media print { body { background: none; } .sheet { margin: 0; } }
";

/// The printable A4 page of a certificate.
pub fn certificate_page(c: &Certificate) -> String {
    let title = escape(&c.title);
    let unit = escape(&c.unit_name);
    let edition = escape(&c.edition);
    let mut rows = String::new();
    for (i, a) in c.airings.iter().enumerate() {
        let _ = write!(
            rows,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
            i + 1,
            escape(&a.date),
            escape(&a.time_range)
        );
    }
    let holder = c
        .copyright_holder
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .map(|h| format!("<div><span>版权方：</span>{}</div>", escape(h)))
        .unwrap_or_default();
    let path = escape(&c.verify_path());
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>活动参与证明 · {title}</title>\n<style>{css}</style>\n</head>\n<body>\n\
         <main class=\"sheet\"><div class=\"frame\">\n\
         <h1>活动参与证明</h1>\n<div class=\"edition\">{edition}</div>\n\
         <p class=\"body\">兹证明，<strong>{unit}</strong>报送的作品《<strong>{title}</strong>》\
         参与{edition}，并于以下时间（北京时间）播出，共 {n} 次。特发此证。</p>\n\
         <table><thead><tr><th>序号</th><th>播出日期</th><th>播出时段</th></tr></thead>\
         <tbody>{rows}</tbody></table>\n\
         <div class=\"meta\">{holder}<div><span>报送单位：</span>{unit}</div></div>\n\
         <div class=\"foot\"><div><div>验证码：<span class=\"code\">{grouped}</span></div>\
         <div>验证网址：<a href=\"{path}\">{path}</a></div></div>\
         <div class=\"issuer\"><div>{edition}</div><div>发证日期：{issued}</div></div></div>\n\
         </div></main>\n</body>\n</html>\n",
        css = CERT_CSS.replace("FONTS", FONTS),
        n = c.airings.len(),
        grouped = escape(&grouped(&c.code)),
        issued = escape(&c.issued_on),
    )
}

const VERIFY_CSS: &str = "
body { margin: 0; background: #f4f2ee; color: #1f1f1f; font-family: FONTS; }
main { max-width: 40em; margin: 3em auto; padding: 2em 2.2em; background: #fff;
  border-top: 6px solid #2b8a3e; }
main.bad { border-top-color: #a4161a; }
h1 { font-size: 1.5em; margin: 0 0 0.8em; }
dl { display: grid; grid-template-columns: 6em 1fr; gap: 0.5em 1em; margin: 0; }
dt { color: #666; } dd { margin: 0; }
ul { margin: 0; padding-left: 1.2em; }
.code { font-family: \"DejaVu Sans Mono\", Consolas, monospace; }
";

/// The public `/verify/{code}` page: the certificate's own facts when `c` is a valid one,
/// else a page that says the code is not valid (and echoes nothing of the request).
pub fn verify_page(c: Option<&Certificate>) -> String {
    let css = VERIFY_CSS.replace("FONTS", FONTS);
    let head = |title: &str| {
        format!(
            "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
             <style>{css}</style>\n</head>\n<body>\n"
        )
    };
    let Some(c) = c else {
        return format!(
            "{}<main class=\"bad\"><h1>验证码无效</h1>\
             <p>此验证码无效：未找到对应的活动参与证明，或证明内容已被改动。\
             请核对证明上印制的 16 位验证码（不含数字 0、1 和字母 O、I）。</p>\
             <p lang=\"en\">This verification code is not valid.</p></main>\n</body>\n</html>\n",
            head("验证码无效 · 活动参与证明")
        );
    };
    let mut airings = String::new();
    for a in &c.airings {
        let _ = write!(
            airings,
            "<li>{} {}</li>",
            escape(&a.date),
            escape(&a.time_range)
        );
    }
    let holder = c
        .copyright_holder
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .map(|h| format!("<dt>版权方</dt><dd>{}</dd>", escape(h)))
        .unwrap_or_default();
    format!(
        "{head}<main><h1>✓ 活动参与证明有效</h1><dl>\
         <dt>活动</dt><dd>{edition}</dd>\
         <dt>作品</dt><dd>《{title}》</dd>\
         <dt>报送单位</dt><dd>{unit}</dd>{holder}\
         <dt>播出</dt><dd>共 {n} 次（北京时间）<ul>{airings}</ul></dd>\
         <dt>发证日期</dt><dd>{issued}</dd>\
         <dt>验证码</dt><dd class=\"code\">{code}</dd></dl></main>\n</body>\n</html>\n",
        head = head("活动参与证明有效"),
        edition = escape(&c.edition),
        title = escape(&c.title),
        unit = escape(&c.unit_name),
        n = c.airings.len(),
        issued = escape(&c.issued_on),
        code = escape(&grouped(&c.code)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_html_escapes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
