//! `[node]`: which member of the production pair this process is.
//!
//! ```toml
//! [node]
//! name = "main-bj"   # unique per node; recorded with every as-run row and login audit
//! role = "main"      # or "backup"
//! ```
//!
//! Both nodes of a pair play the same rundown from one PostgreSQL, frame-aligned by wall
//! time, each to its own `[[destination]]`s (the platforms' primary and backup ingest). The
//! role is informational for people (dashboard, logs, metrics): which node runs the
//! once-only jobs is decided by a lease in the database, not by the role. `KEPU_NODE_NAME`
//! and `KEPU_NODE_ROLE` override the file (one config for a StatefulSet's pods).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{At, ConfigError};

/// The node's part in the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// The main chain (feeds the platforms' primary ingest).
    #[default]
    Main,
    /// The backup chain (feeds the platforms' backup ingest).
    Backup,
}

impl NodeRole {
    /// The name used in the config and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Main => "main",
            NodeRole::Backup => "backup",
        }
    }
}

/// This node: its name and role.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeConfig {
    /// Unique name of the node (1–40 characters of `a-z0-9._-`); empty for a single node
    /// without `[node]`.
    pub name: String,
    /// Main or backup.
    pub role: NodeRole,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNode {
    /// Unique name of the node.
    name: Option<Spanned<String>>,
    /// `main` or `backup`.
    role: Option<Spanned<String>>,
}

/// Validates `[node]` with its environment overrides.
pub(super) fn parse_node(
    raw: &RawNode,
    env: &BTreeMap<String, String>,
    at: &At<'_>,
) -> Result<NodeConfig, ConfigError> {
    let span = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.span()).unwrap_or(0..0);
    let name = env
        .get("KEPU_NODE_NAME")
        .cloned()
        .or_else(|| raw.name.as_ref().map(|v| v.get_ref().clone()))
        .unwrap_or_default();
    let name = name.trim().to_string();
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if name.chars().count() > 40 || !name.chars().all(ok) {
        return Err(at(
            span(&raw.name),
            "node.name",
            format!("节点名称「{name}」须为 1–40 个小写字母、数字或 . _ -"),
        ));
    }
    let role_text = env
        .get("KEPU_NODE_ROLE")
        .cloned()
        .or_else(|| raw.role.as_ref().map(|v| v.get_ref().clone()));
    let role = match role_text.as_deref().map(str::trim) {
        None | Some("main") => NodeRole::Main,
        Some("backup") => NodeRole::Backup,
        Some(other) => {
            return Err(at(
                span(&raw.role),
                "node.role",
                format!("节点角色「{other}」无效：应为 main 或 backup"),
            ));
        }
    };
    if role == NodeRole::Backup && name.is_empty() {
        return Err(at(
            span(&raw.role),
            "node.name",
            "备用节点（role = \"backup\"）须有名称".into(),
        ));
    }
    Ok(NodeConfig { name, role })
}
