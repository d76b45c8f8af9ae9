//! `sekisho-loadtest`: drives a running gateway (and the baselines) over
//! HTTP on loopback. Every run is bounded by a duration and a request count
//! and stops by itself.
//!
//! ```text
//! sekisho-loadtest setup  --base URL --sekisho BIN --config FILE --users N --sessions M --out DIR
//! sekisho-loadtest run    --scenario browse|login|passkey-login|mixed|upload|download --base URL [...]
//! sekisho-loadtest idle   --addr HOST:PORT --connections N --hold-seconds S
//! sekisho-loadtest report --in measurements.jsonl --out DIR
//! sekisho-loadtest sink   --addr HOST:PORT
//! ```

mod breached;
mod dbsc;
mod http;
mod pacing;
mod passkey;
mod report;
mod revocation;
mod scenarios;
mod setup;
mod sink;
mod stats;
mod two_step;

use clap::{Parser, Subcommand, ValueEnum};
use report::Record;
use scenarios::{Kind, Load, Target};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "sekisho-loadtest",
    about = "Load tests for Sekisho, bounded in count and time"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    Browse,
    Login,
    /// Sign-ins with a software passkey (users from `--passkeys`).
    PasskeyLogin,
    Mixed,
    Upload,
    Download,
}

#[derive(Subcommand)]
enum Command {
    /// Create users through `sekisho admin` and the registration pages, and
    /// sessions through the login page; writes users.txt and cookies.txt.
    Setup(SetupArgs),
    /// Run a scenario and print (and optionally record) its summary.
    Run(RunArgs),
    /// Open many keep-alive connections, make one request on each, hold them.
    Idle {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long, default_value = "/1k.html")]
        path: String,
        #[arg(long)]
        cookie: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        hold_seconds: u64,
    },
    /// A streaming upstream for transfer benchmarks (drains bodies, serves
    /// `GET /big?bytes=N`).
    Sink {
        #[arg(long)]
        addr: std::net::SocketAddr,
    },
    /// The breach list's figures (S64): import speed, filter bytes per
    /// entry and check time on a generated list; prints JSON.
    Breached {
        #[arg(long, default_value_t = 2_000_000)]
        lines: u64,
        #[arg(long, default_value_t = 1_000_000)]
        checks: u64,
    },
    /// Device-bound sessions (S62): binds sessions with a software DBSC
    /// key, writes their cookies for wrk, and measures the refresh rate
    /// and the gateway's CPU per refresh; prints JSON.
    Dbsc {
        #[arg(long)]
        base: String,
        /// Users to sign in ("email password" lines, as `setup` writes).
        #[arg(long)]
        users: PathBuf,
        #[arg(long, default_value_t = 200)]
        sessions: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// The gateway's process, for its CPU seconds.
        #[arg(long)]
        pid: Option<u32>,
        /// Where the bound sessions' cookies go (for wrk's rotate.lua).
        #[arg(long)]
        cookies_out: PathBuf,
    },
    /// Revocation time (P16): sessions signed in and cached, ended by
    /// `sekisho admin end-sessions` in another process, timed until the
    /// gateway refuses them; prints JSON. Ends those users' sessions.
    Revocation {
        #[arg(long)]
        base: String,
        #[arg(long)]
        users: PathBuf,
        #[arg(long, default_value_t = 5)]
        samples: usize,
        #[arg(long)]
        sekisho: PathBuf,
        #[arg(long)]
        config: PathBuf,
    },
    /// Record a single measured number as a measurement line.
    Value {
        #[arg(long)]
        label: String,
        #[arg(long)]
        value: f64,
        #[arg(long)]
        record: PathBuf,
    },
    /// Turn measurement lines into the JSON summary, Markdown and SVG.
    Report {
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Markdown appended to the report (profiles and reasons for
        /// budgets not met).
        #[arg(long)]
        analysis: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long)]
    base: String,
    /// A Host header to send (e.g. for virtual hosts of a baseline).
    #[arg(long)]
    host: Option<String>,
    #[arg(long, default_value = "/1k.html")]
    path: String,
    #[arg(long, default_value = "sekisho")]
    cookie_name: String,
    /// One cookie value per line, used in turn.
    #[arg(long)]
    cookies: Option<PathBuf>,
    /// Lines of "email password [secret step]" for the login scenario;
    /// with a secret, the login passes the second step with the app.
    #[arg(long)]
    users: Option<PathBuf>,
    /// The passkeys file from `setup` (passkey-login).
    #[arg(long)]
    passkeys: Option<PathBuf>,
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Requests per second (open loop); without it, closed loop.
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 10_000_000)]
    max_requests: u64,
    /// Login workers beside the browsing ones (mixed).
    #[arg(long, default_value_t = 16)]
    login_concurrency: usize,
    /// Body size for upload/download, MiB.
    #[arg(long, default_value_t = 1024)]
    mib: u64,
    #[arg(long, default_value = "run")]
    label: String,
    /// Append the summary as a measurement line to this file.
    #[arg(long)]
    record: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SetupArgs {
    #[arg(long)]
    base: String,
    #[arg(long)]
    sekisho: PathBuf,
    #[arg(long)]
    config: PathBuf,
    #[arg(long, default_value_t = 20)]
    users: usize,
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    #[arg(long, default_value = "sekisho")]
    cookie_name: String,
    #[arg(long)]
    out: PathBuf,
    /// Users whose tenants ask for two-step verification, enrolled with
    /// the authenticator app; written to users-2fa.txt.
    #[arg(long, default_value_t = 0)]
    two_step_users: usize,
    /// Users with a software passkey registered through the menu;
    /// written to passkeys.txt. Needs `--passkey-origin`.
    #[arg(long, default_value_t = 0)]
    passkey_users: usize,
    /// The gateway's public URL (its origin, whose host is the RP ID).
    #[arg(long)]
    passkey_origin: Option<String>,
}

fn read_lines(path: &Option<PathBuf>) -> anyhow::Result<Vec<String>> {
    match path {
        None => Ok(Vec::new()),
        Some(p) => Ok(std::fs::read_to_string(p)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()),
    }
}

fn record(path: &Option<PathBuf>, r: &Record) -> anyhow::Result<()> {
    if let Some(p) = path {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)?;
        writeln!(f, "{}", serde_json::to_string(r)?)?;
    }
    Ok(())
}

async fn setup(args: SetupArgs) -> anyhow::Result<()> {
    let SetupArgs {
        base,
        sekisho,
        config,
        users,
        sessions,
        cookie_name,
        out,
        two_step_users,
        passkey_users,
        passkey_origin,
    } = args;
    std::fs::create_dir_all(&out)?;
    let tag = format!("{}", std::process::id());
    if passkey_users > 0 {
        let Some(origin) = passkey_origin else {
            anyhow::bail!("--passkey-users needs --passkey-origin (the gateway's public URL)");
        };
        let made = setup::enrol_passkey_users(
            &sekisho,
            &config,
            &base,
            &cookie_name,
            passkey_users,
            &tag,
            &origin,
        )
        .await?;
        std::fs::write(
            out.join("passkeys.txt"),
            made.iter()
                .map(|p| format!("{}\n", p.to_line()))
                .collect::<String>(),
        )?;
    }
    if two_step_users > 0 {
        let lines = setup::enrol_two_step_users(
            &sekisho,
            &config,
            &base,
            &cookie_name,
            two_step_users,
            &tag,
        )
        .await?;
        std::fs::write(
            out.join("users-2fa.txt"),
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )?;
    }
    let (made, cookies) = setup::prepare(
        &sekisho,
        &config,
        &base,
        &cookie_name,
        users,
        sessions,
        &tag,
    )
    .await?;
    std::fs::write(
        out.join("users.txt"),
        made.iter()
            .map(|(e, p)| format!("{e} {p}\n"))
            .collect::<String>(),
    )?;
    std::fs::write(
        out.join("cookies.txt"),
        cookies.iter().map(|c| format!("{c}\n")).collect::<String>(),
    )?;
    println!(
        "{} users, {} sessions written to {}",
        made.len(),
        cookies.len(),
        out.display()
    );
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        scenario,
        base,
        host,
        path,
        cookie_name,
        cookies,
        users,
        passkeys,
        concurrency,
        rate,
        seconds,
        max_requests,
        login_concurrency,
        mib,
        label,
        record: rec,
    } = args;
    let users = read_lines(&users)?
        .iter()
        .filter_map(|l| two_step::User::parse(l))
        .collect::<Vec<_>>();
    let target = Arc::new(Target {
        base,
        host,
        path,
        cookie_name,
        cookies: read_lines(&cookies)?,
        users,
        passkeys: read_lines(&passkeys)?
            .iter()
            .filter_map(|l| passkey::SoftPasskey::parse(l))
            .collect(),
        browsers: Default::default(),
    });
    let load = Load {
        concurrency,
        rate,
        duration: Duration::from_secs_f64(seconds),
        max_requests,
    };
    if matches!(scenario, Scenario::Login | Scenario::Mixed) && target.users.is_empty() {
        anyhow::bail!("--users: the login scenarios need a users file (from `setup`)");
    }
    if matches!(scenario, Scenario::PasskeyLogin) && target.passkeys.is_empty() {
        anyhow::bail!("--passkeys: passkey-login needs a passkeys file (from `setup`)");
    }
    let summaries = match scenario {
        Scenario::Browse => vec![scenarios::run(&label, Kind::Browse, target, load).await],
        Scenario::Login => vec![scenarios::run(&label, Kind::Login, target, load).await],
        Scenario::PasskeyLogin => {
            vec![scenarios::run(&label, Kind::PasskeyLogin, target, load).await]
        }
        Scenario::Upload => {
            vec![scenarios::run(&label, Kind::Upload(mib << 20), target, load).await]
        }
        Scenario::Download => {
            vec![scenarios::run(&label, Kind::Download(mib << 20), target, load).await]
        }
        Scenario::Mixed => {
            let logins = Load {
                concurrency: login_concurrency,
                rate: None,
                ..load
            };
            let login_label = format!("{label}_logins");
            let (browse, login) = tokio::join!(
                scenarios::run(&label, Kind::Browse, target.clone(), load),
                scenarios::run(&login_label, Kind::Login, target.clone(), logins)
            );
            vec![browse, login]
        }
    };
    for s in summaries {
        println!("{}", serde_json::to_string_pretty(&s)?);
        record(
            &rec,
            &Record::Scenario {
                label: s.name.clone(),
                summary: s,
            },
        )?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup(args) => setup(args).await?,
        Command::Run(args) => run(args).await?,
        Command::Idle {
            addr,
            path,
            cookie,
            connections,
            hold_seconds,
        } => {
            let (established, answered) = scenarios::idle(
                addr,
                &addr.to_string(),
                &path,
                cookie,
                connections,
                Duration::from_secs(hold_seconds),
            )
            .await;
            println!("{{\"established\": {established}, \"answered\": {answered}}}");
        }
        Command::Sink { addr } => sink::serve(addr).await?,
        Command::Breached { lines, checks } => {
            let figures =
                tokio::task::spawn_blocking(move || breached::measure(lines, checks)).await??;
            println!("{}", serde_json::to_string(&figures)?);
        }
        Command::Dbsc {
            base,
            users,
            sessions,
            seconds,
            concurrency,
            pid,
            cookies_out,
        } => {
            let figures = dbsc::measure(
                &base,
                &users,
                sessions,
                (seconds, concurrency),
                pid,
                &cookies_out,
            )
            .await?;
            println!("{}", serde_json::to_string(&figures)?);
        }
        Command::Revocation {
            base,
            users,
            samples,
            sekisho,
            config,
        } => {
            let figures = revocation::measure(&base, &users, samples, &sekisho, &config).await?;
            println!("{}", serde_json::to_string(&figures)?);
        }
        Command::Value {
            label,
            value,
            record: rec,
        } => record(&Some(rec), &Record::Value { label, value })?,
        Command::Report {
            input,
            out,
            analysis,
        } => {
            let records: Vec<Record> = std::fs::read_to_string(&input)?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()?;
            let report = report::build(&records);
            std::fs::create_dir_all(&out)?;
            std::fs::write(
                out.join("report.json"),
                serde_json::to_string_pretty(&report)?,
            )?;
            std::fs::write(out.join("latency.svg"), report::svg(&report))?;
            let mut md = report::markdown(&report, "latency.svg");
            if let Some(a) = analysis {
                md.push('\n');
                md.push_str(&std::fs::read_to_string(a)?);
            }
            std::fs::write(out.join("report.md"), &md)?;
            println!("{md}");
        }
    }
    Ok(())
}
