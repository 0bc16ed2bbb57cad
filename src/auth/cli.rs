//! `kepu-playout user …`: accounts from the command line, above all the first admin on a
//! fresh machine (`user add --role admin`), and API tokens for automation. The password is
//! read from an environment variable or standard input, never from the command line (where
//! `ps` would show it). The token is printed once.

use super::{Accounts, NewUser, Role};
use crate::store::Store;
use anyhow::Context;
use std::io::BufRead;

/// `user` arguments.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// Database: a SQLite file path (created on first use) or a postgres:// URL.
    #[arg(
        long = "db",
        alias = "database",
        global = true,
        env = "KEPU_DATABASE_URL",
        default_value = "kepu.db"
    )]
    pub database: String,
    /// What to do.
    #[command(subcommand)]
    pub command: UserCommand,
}

/// `user` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Adds a user. The password comes from KEPU_PASSWORD or the first line of stdin.
    Add {
        /// Login name.
        username: String,
        /// Role.
        #[arg(long, value_enum)]
        role: Role,
        /// The partner's unit id (partners only).
        #[arg(long)]
        unit: Option<i64>,
    },
    /// Lists users (never their passwords).
    List,
    /// Issues an API token for a user; printed once, stored only as a hash.
    Token {
        /// Login name.
        username: String,
        /// What the token is for (shown in lists).
        #[arg(long, default_value = "automation")]
        name: String,
    },
    /// Unlocks an account locked after repeated failed logins.
    Unlock {
        /// Login name.
        username: String,
    },
    /// Shows the last login attempts (who, from where, outcome, node), newest first.
    Logins {
        /// How many.
        #[arg(long, default_value_t = 50)]
        last: i64,
    },
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("KEPU_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("读取密码失败（请通过 KEPU_PASSWORD 或标准输入提供）")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs a `user` subcommand; returns what to print.
pub async fn run(args: UserArgs) -> anyhow::Result<String> {
    let store = Store::open(&args.database).await?;
    let accounts = Accounts::new(store);
    match args.command {
        UserCommand::Add {
            username,
            role,
            unit,
        } => {
            let password = read_password()?;
            let u = accounts
                .create_user(&NewUser {
                    username,
                    role,
                    unit_id: unit,
                    password,
                })
                .await?;
            Ok(format!(
                "已创建用户 {}（{}，编号 {}）",
                u.username, u.role, u.id
            ))
        }
        UserCommand::List => {
            let mut out = String::new();
            for u in accounts.users().await? {
                let unit = u.unit_id.map(|x| format!(" 单位 {x}")).unwrap_or_default();
                out.push_str(&format!("{}\t{}\t{}{unit}\n", u.id, u.username, u.role));
            }
            Ok(out)
        }
        UserCommand::Token { username, name } => {
            let user = accounts
                .users()
                .await?
                .into_iter()
                .find(|u| u.username == username)
                .with_context(|| format!("未找到用户「{username}」"))?;
            let t = accounts.issue_token(user.id, &name).await?;
            Ok(format!(
                "令牌（只显示这一次，请妥善保存）：\n{}\n显示为 {}",
                t.token, t.display
            ))
        }
        UserCommand::Unlock { username } => {
            if accounts.unlock(&username).await? {
                Ok(format!("已解锁用户 {username}"))
            } else {
                anyhow::bail!("未找到用户「{username}」")
            }
        }
        UserCommand::Logins { last } => {
            let mut out = String::new();
            for a in accounts.login_audit(last).await? {
                let at = chrono::DateTime::from_timestamp_millis(a.at_ms)
                    .map(|t| {
                        t.with_timezone(&chrono_tz::Asia::Shanghai)
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string()
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{at}\t{}\t{}\t{}\t{}\n",
                    a.username, a.client, a.outcome, a.node
                ));
            }
            Ok(out)
        }
    }
}
