//! The demo's 信息采集表: a CSV in GBK (as units' Excel saves it on a Chinese Windows), one
//! row per work, with the columns of the notice's form. Written with the `csv` crate and
//! encoded with `encoding_rs`.

use anyhow::Context;
use std::path::Path;

/// One row of the form.
#[derive(Debug, Clone)]
pub struct FormRow<'a> {
    /// 报送单位.
    pub unit: &'a str,
    /// 联系人.
    pub contact: &'a str,
    /// 上级主管单位.
    pub parent: &'a str,
    /// 作品名称.
    pub title: &'a str,
    /// 视频类别 as printed on the form.
    pub category: &'a str,
    /// 时长, HH:MM:SS.
    pub duration: String,
    /// 视频内容简介.
    pub summary: &'a str,
    /// 报送日期, YYYY-MM-DD.
    pub submitted_on: &'a str,
    /// 视频文件 (absolute path), empty when the unit sent none.
    pub file: String,
}

const HEADER: [&str; 17] = [
    "报送单位",
    "联系人",
    "职务/职称",
    "联系电话",
    "电子邮箱",
    "上级主管单位",
    "主管单位所属类型",
    "作品名称",
    "视频类别（可多选）",
    "时长",
    "版权方",
    "视频内容简介",
    "报送视频状态",
    "AI生成内容",
    "中文字幕",
    "报送日期",
    "视频文件",
];

/// Writes the form to `path` in GBK.
pub fn write(path: &Path, rows: &[FormRow<'_>]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for r in rows {
        w.write_record([
            r.unit,
            r.contact,
            "科普部主任",
            "010-68571234",
            "kepu@example.cn",
            r.parent,
            "地方科协",
            r.title,
            r.category,
            &r.duration,
            r.unit,
            r.summary,
            "成品视频",
            "否",
            "是",
            r.submitted_on,
            &r.file,
        ])?;
    }
    let utf8 = String::from_utf8(w.into_inner().context("采集表写入失败")?)?;
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
    if unmappable {
        anyhow::bail!("采集表含 GBK 无法表示的字符");
    }
    std::fs::write(path, gbk).with_context(|| format!("无法写入 {}", path.display()))
}
