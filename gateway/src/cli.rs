//! The `sekisho` command line. Exit codes: 0 success, 1 runtime failure,
//! 2 a configuration or argument problem (each printed with its key).

use crate::admin::{purge, Admin};
pub use crate::error::InputError;
use crate::upgrade::Launch;
use clap::{Parser, Subcommand, ValueEnum};
use sekisho_policy::model::Plan;
use sekisho_policy::ticket::TicketPurpose;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sekisho",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SEKISHO_COMMIT"), ")"),
    about = "Sekisho (関所): the sign-in gateway in front of the storage service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        #[arg(long, short, value_name = "FILE", env = "SEKISHO_CONFIG")]
        config: PathBuf,
        /// Take over from the running gateway (named by `server.pid_file`)
        /// without dropping a connection: a new binary or a changed
        /// configuration. The running one drains and exits.
        #[arg(long, short)]
        upgrade: bool,
    },
    /// Check a configuration file and print every problem, key by key.
    CheckConfig {
        /// The file (or `--config FILE`, or `$SEKISHO_CONFIG`).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(
            long,
            short,
            value_name = "FILE",
            env = "SEKISHO_CONFIG",
            conflicts_with = "file"
        )]
        config: Option<PathBuf>,
        /// Only the file itself: TOML, known keys, types (for CI, where the
        /// keys and addresses it names do not exist).
        #[arg(long)]
        syntax_only: bool,
    },
    /// Write a new assertion signing key (Ed25519, PKCS#8 PEM, mode 0600).
    Keygen {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run the demo: embedded store, mail printed here, a seeded tenant and
    /// the built-in demo upstream.
    Demo {
        #[arg(long, short, value_name = "FILE", default_value = "config/demo.toml")]
        config: PathBuf,
    },
    /// Administrative commands on the configured store.
    Admin {
        #[arg(
            long,
            short,
            value_name = "FILE",
            env = "SEKISHO_CONFIG",
            default_value = "sekisho.toml",
            global = true
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Measure argon2id hashes per second with the configured parameters on
    /// the configured pool size (the hash-bound benchmark baseline).
    HashRate {
        #[arg(long, short, value_name = "FILE", env = "SEKISHO_CONFIG")]
        config: PathBuf,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120))]
        seconds: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanArg {
    Basic,
    Trial,
}

#[derive(Clone, Copy, ValueEnum)]
enum RouteArg {
    /// 回線認証+インターネット
    LineAndInternet,
    /// 回線認証のみ
    LineOnly,
}

#[derive(Clone, Copy, ValueEnum)]
enum Switch {
    On,
    Off,
}

impl Switch {
    fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

/// The roles an invitation gives (the contract holder is made with the
/// tenant).
#[derive(Clone, Copy, ValueEnum)]
enum InviteRole {
    User,
    Admin,
}

/// パスキー設定's two values.
#[derive(Clone, Copy, ValueEnum)]
enum Requirement {
    Required,
    Optional,
}

#[derive(Subcommand)]
enum ScimTokenCommand {
    /// Make a token; it is printed once and kept only as a hash.
    Create {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Client networks allowed to use it (CIDR, comma-separated).
        #[arg(long, value_name = "CIDRS", default_value = "")]
        networks: String,
    },
    /// List a tenant's tokens: name, created, networks.
    List {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
    },
    /// Give a token a new secret; the old one stops at once.
    Rotate {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Revoke a token. Asks first on a terminal; elsewhere give --yes.
    Revoke {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a tenant and its contract holder, and mail the holder's
    /// registration invitation (the link is printed too).
    CreateTenant {
        #[arg(long, value_enum)]
        plan: PlanArg,
        #[arg(long, value_name = "EMAIL")]
        holder_email: String,
        /// The holder's name, as mail and the console show it (default:
        /// the address).
        #[arg(long, value_name = "NAME", default_value = "")]
        holder_name: String,
        /// Two-step verification for the tenant's password users (the
        /// contract holder can change it in the account menu).
        #[arg(long, value_enum, default_value = "on")]
        two_step: Switch,
    },
    /// Turn two-step verification on or off for a tenant (as the contract
    /// holder's 2段階認証設定 does).
    SetTwoStep {
        #[arg(value_name = "TENANT_ID")]
        tenant: String,
        #[arg(value_enum)]
        setting: Switch,
    },
    /// Require passkeys of a tenant's password users, or stop requiring
    /// them (as the contract holder's パスキー設定 does).
    SetPasskeyRequirement {
        #[arg(value_name = "TENANT_ID")]
        tenant: String,
        #[arg(value_enum)]
        setting: Requirement,
    },
    /// Unlock a locked account (its unblock link stops working).
    Unlock {
        #[arg(value_name = "EMAIL")]
        email: String,
    },
    /// Convert a trial tenant to the basic plan (possible until 15 days
    /// after the trial's end).
    SetPlan {
        #[arg(value_name = "TENANT_ID")]
        tenant: String,
        #[arg(value_enum)]
        plan: PlanArg,
    },
    /// List the tenants: id, plan, two-step, access route, users.
    Tenants,
    /// Invite a user to a tenant, as the contract holder's ユーザー招待 does:
    /// the invitation is mailed, naming the holder, and its link printed.
    Invite {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// The name mail and the console show.
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long, value_enum, default_value = "user")]
        role: InviteRole,
    },
    /// Remove a user (not a contract holder): their sessions end at once.
    /// Asks first on a terminal; elsewhere give --yes.
    RemoveUser {
        #[arg(value_name = "EMAIL")]
        email: String,
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
    /// End every session of a user (a stolen laptop, a leaver whose account
    /// stays): every gateway refuses them at once; the user can sign in
    /// again. Asks first on a terminal; elsewhere give --yes.
    EndSessions {
        #[arg(value_name = "EMAIL")]
        email: String,
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Make, list, rotate or revoke a tenant's SCIM tokens (as the contract
    /// holder's 設定 → SCIM does). A new token is printed once.
    ScimToken {
        #[command(subcommand)]
        action: ScimTokenCommand,
    },
    /// Mail a user who has not registered yet a new invitation (the older
    /// link stops working).
    ResendInvitation {
        #[arg(value_name = "EMAIL")]
        email: String,
    },
    /// Reset a user's two-step verification: they set it up again at their
    /// next login, and their remembered browsers are forgotten. Asks first
    /// on a terminal; elsewhere give --yes.
    ResetTwoStep {
        #[arg(value_name = "EMAIL")]
        email: String,
        /// Do it without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Set a tenant's access route (as the holder's アクセス経路設定 does).
    SetAccessRoute {
        #[arg(value_name = "TENANT_ID")]
        tenant: String,
        #[arg(value_enum)]
        route: RouteArg,
    },
    /// List users (of one tenant, or all).
    Users {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: Option<String>,
    },
    /// Write everything the store keeps (accounts, sessions, links,
    /// secrets) to a JSON file readable by its owner only: a backup, or
    /// the way to another backend.
    Export {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Load an export into this configuration's store, which must hold no
    /// tenants or users yet. Restart the gateways afterwards.
    Import {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Remove what has ended now (sessions, links, pending logins, quiet
    /// runs of wrong passwords), as every gateway does every ten minutes.
    Purge,
    /// Turn a downloaded breach list ("SHA1-HEX:COUNT" lines, as Have I
    /// Been Pwned's) into the filter `password.breached_filter_file` names,
    /// streaming, in bounded memory. The old filter is replaced only when
    /// the new one is whole; reload the gateways to use it.
    BreachedImport {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Where to write the filter (default: `password.breached_filter_file`).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Bring the PostgreSQL schema up to date, under the same advisory
    /// lock gateways take at start (needed before starting gateways with
    /// `migrations = "by-command"`). The embedded store and Redis keep
    /// their schema themselves.
    Migrate,
}

/// Loads and validates the configuration, and checks the files it names
/// (`preflight`): what `check-config` says, `run` refuses to start on.
fn load_config(path: &Path) -> Result<sekisho_config::Config, ExitCode> {
    let config = sekisho_config::load(path).map_err(|errors| {
        eprintln!("{}: configuration problems:", path.display());
        for e in &errors.0 {
            eprintln!("  {e}");
        }
        ExitCode::from(2)
    })?;
    let problems = crate::preflight::check(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        eprintln!("{}: configuration problems:", path.display());
        for p in &problems {
            eprintln!("  {p}");
        }
        Err(ExitCode::from(2))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    if e.downcast_ref::<InputError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// `check-config`: the whole check (as `run` makes it), or with
/// `--syntax-only` the file alone.
fn check_config(file: &Path, syntax_only: bool) -> ExitCode {
    if syntax_only {
        return check_syntax_only(file);
    }
    match load_config(file) {
        Ok(_) => {
            println!("{}: ok", file.display());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `check-config --syntax-only`: the file's keys and types, nothing read
/// beyond it.
fn check_syntax_only(file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    match sekisho_config::check_syntax(&text) {
        Ok(()) => {
            println!("{}: syntax ok", file.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{}: configuration problems:", file.display());
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            ExitCode::from(2)
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            config: file,
            upgrade,
        } => {
            let config = match load_config(&file) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Err(e) = crate::server::init_logging(&config) {
                return fail(e);
            }
            let launch = Launch {
                config_file: file,
                upgrade,
            };
            match crate::server::run(config, launch) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::CheckConfig {
            file,
            config,
            syntax_only,
        } => {
            let Some(file) = file.or(config) else {
                eprintln!("check-config: give the file: check-config FILE, --config FILE or SEKISHO_CONFIG");
                return ExitCode::from(2);
            };
            check_config(&file, syntax_only)
        }
        Command::Keygen { file } => match crate::assertion::generate_key_file(&file) {
            Ok(()) => {
                println!("wrote {}", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Demo { config: file } => {
            if let Err(code) = demo_breach_filter(&file) {
                return code;
            }
            let config = match load_config(&file) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Err(e) = crate::server::init_logging(&config) {
                return fail(e);
            }
            // Every listener first: a demo that cannot serve touches nothing.
            if let Err(e) = crate::server::can_listen(&config) {
                return fail(e);
            }
            if let Err(e) = runtime().block_on(seed_demo(&config)) {
                return fail(e);
            }
            let launch = Launch {
                config_file: file,
                upgrade: false,
            };
            match crate::server::run(config, launch) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Admin {
            config,
            command: AdminCommand::BreachedImport { file, output },
        } => breached_import(&config, &file, output),
        Command::Admin { config, command } => {
            let config = match load_config(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            // Quiet but for problems and the audit trail of what it did.
            let quiet = sekisho_config::Config {
                logging: sekisho_config::Logging {
                    format: config.logging.format,
                    level: "warn,audit=info".into(),
                    access_log_every: None,
                },
                traces: None,
                ..config.clone()
            };
            if let Err(e) = crate::server::init_logging(&quiet) {
                return fail(e);
            }
            match runtime().block_on(admin(config, command)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::HashRate { config, seconds } => {
            let config = match load_config(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let rate = crate::hashing::Hasher::measure_rate(
                &config.hashing,
                std::time::Duration::from_secs(seconds),
            );
            println!(
                "{{\"hashes_per_second\": {rate:.2}, \"threads\": {}, \"memory_kib\": {}, \"iterations\": {}}}",
                config.hashing.pool_threads, config.hashing.memory_kib, config.hashing.iterations
            );
            ExitCode::SUCCESS
        }
    }
}

async fn admin(config: sekisho_config::Config, command: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::Migrate = command {
        return migrate(&config).await;
    }
    let admin = Admin::open(config)?;
    let mut audit = match crate::audit::install() {
        Some(queue) => Some((
            queue,
            crate::audit::Sinks::open(admin.store.clone(), &admin.config.audit)?,
        )),
        None => None,
    };
    let done = run_admin(&admin, command).await;
    // What the command did reaches the audit sink and the console too.
    if let Some((queue, sinks)) = &mut audit {
        crate::audit::deliver_queued(queue, sinks, &admin.clock).await;
    }
    done
}

/// `sekisho admin breached-import`: no store, and no preflight (the filter
/// it writes may not exist yet, which the preflight would refuse).
fn breached_import(config: &Path, list: &Path, output: Option<PathBuf>) -> ExitCode {
    let output = match output {
        Some(o) => o,
        None => match sekisho_config::load(config) {
            Ok(c) => match c.password.breached_filter_file {
                Some(f) => f,
                None => {
                    eprintln!(
                        "give --output, or set password.breached_filter_file in {}",
                        config.display()
                    );
                    return ExitCode::from(2);
                }
            },
            Err(errors) => {
                eprintln!("{}: configuration problems:", config.display());
                for e in &errors.0 {
                    eprintln!("  {e}");
                }
                return ExitCode::from(2);
            }
        },
    };
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% ({eta} left)")
            .expect("a fixed template")
            .progress_chars("=> "),
    );
    let mut on_progress = |p: sekisho_breached::Progress| match p {
        sekisho_breached::Progress::Reading { bytes, of } => {
            bar.set_message("reading");
            bar.set_length(of);
            bar.set_position(bytes);
        }
        sekisho_breached::Progress::Building { shards, of } => {
            bar.set_message("building");
            bar.set_length(of as u64);
            bar.set_position(shards as u64);
        }
    };
    match sekisho_breached::import(list, &output, &mut on_progress) {
        Ok(report) => {
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{}: {} entries from {} lines in {} shards, {} bytes ({:.2} bytes an entry), {:.1} s ({:.0} lines/s)",
                output.display(),
                report.entries,
                report.lines,
                report.shards,
                report.bytes,
                report.bytes as f64 / report.entries as f64,
                seconds,
                report.lines as f64 / seconds.max(1e-9),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            bar.abandon();
            eprintln!("error: {e}");
            match e {
                sekisho_breached::ImportError::BadLine { .. }
                | sekisho_breached::ImportError::Empty => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}

/// A destructive command goes on when `--yes` was given, or when the
/// operator answers y on a terminal; elsewhere it stops (exit 2) and says
/// how to go on.
fn confirmed(yes: bool, question: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(InputError::error(
            "this command changes what cannot be undone: add --yes to confirm",
        ));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(InputError::error("not confirmed: nothing changed"))
    }
}

/// `sekisho admin migrate`: before the store is opened, since a gateway
/// with `migrations = "by-command"` refuses to open an older schema.
async fn migrate(config: &sekisho_config::Config) -> anyhow::Result<()> {
    match &config.store.backend {
        sekisho_config::StoreBackend::Postgres(settings) => {
            let store = crate::store::postgres::PostgresStore::new(settings, config.store.timeout)
                .map_err(|e| InputError::error(format!("store.postgres: {e}")))?;
            let done = store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("store.postgres: {e}"))?;
            if done.from == done.to {
                println!("schema version {}: up to date", done.to);
            } else {
                println!("schema migrated from version {} to {}", done.from, done.to);
            }
        }
        _ => {
            crate::state::open_store(config)?;
            println!("this store keeps its schema itself: nothing to migrate");
        }
    }
    Ok(())
}

async fn run_admin(admin: &Admin, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateTenant {
            plan,
            holder_email,
            holder_name,
            two_step,
        } => {
            if holder_name.chars().count() > 100 {
                return Err(InputError::error("--holder-name: at most 100 characters"));
            }
            let plan = match plan {
                PlanArg::Basic => Plan::Basic,
                PlanArg::Trial => Plan::Trial,
            };
            let created = admin
                .create_tenant(plan, &holder_email, &holder_name, two_step.on())
                .await?;
            println!("tenant:            {}", created.tenant_id);
            println!("contract holder:   {}", created.user_id);
            println!("registration link: {}", created.registration_link);
        }
        AdminCommand::Unlock { email } => {
            let user = admin.unlock(&email).await?;
            println!("unlocked: {} ({})", user.email, user.id);
        }
        AdminCommand::SetTwoStep { tenant, setting } => {
            let t = admin.set_two_step(&tenant, setting.on()).await?;
            let word = if t.two_step_enabled { "on" } else { "off" };
            println!("tenant {}: two-step verification {word}", t.id);
        }
        AdminCommand::SetPasskeyRequirement { tenant, setting } => {
            let required = matches!(setting, Requirement::Required);
            let t = admin.set_passkeys_required(&tenant, required).await?;
            let word = if t.passkeys_required {
                "required"
            } else {
                "optional"
            };
            println!("tenant {}: passkeys {word}", t.id);
        }
        AdminCommand::SetPlan { tenant, plan } => {
            let plan = match plan {
                PlanArg::Basic => Plan::Basic,
                PlanArg::Trial => Plan::Trial,
            };
            let t = admin.set_plan(&tenant, plan).await?;
            println!("tenant {} is now on the {} plan", t.id, t.plan.as_str());
        }
        AdminCommand::Export { file } => export(admin, &file).await?,
        AdminCommand::Import { file } => import(admin, &file).await?,
        AdminCommand::Tenants => list_tenants(admin).await?,
        AdminCommand::Invite {
            tenant,
            email,
            name,
            role,
        } => {
            let role = match role {
                InviteRole::User => sekisho_policy::model::Role::User,
                InviteRole::Admin => sekisho_policy::model::Role::Admin,
            };
            let (user, link) = admin.invite(&tenant, &email, &name, role).await?;
            println!("invited: {} ({}), {}", user.email, user.id, role.as_str());
            println!("registration link (also mailed):\n\n    {link}\n");
        }
        AdminCommand::RemoveUser { email, yes } => {
            confirmed(yes, &format!("Remove {email} and end their sessions?"))?;
            let (user, ended) = admin.remove_user(&email).await?;
            println!(
                "removed: {} ({}), {ended} sessions ended",
                user.email, user.id
            );
        }
        AdminCommand::EndSessions { email, yes } => {
            confirmed(yes, &format!("End every session of {email}?"))?;
            let (user, ended) = admin.end_sessions(&email).await?;
            println!("{ended} sessions ended: {} ({})", user.email, user.id);
        }
        AdminCommand::ScimToken { action } => scim_token(admin, action).await?,
        AdminCommand::ResendInvitation { email } => {
            let link = admin.resend_invitation(&email).await?;
            println!("invitation sent again; registration link: {link}");
        }
        AdminCommand::ResetTwoStep { email, yes } => {
            confirmed(yes, &format!("Reset two-step verification of {email}?"))?;
            let user = admin.reset_two_step(&email).await?;
            println!("two-step verification reset: {} ({})", user.email, user.id);
        }
        AdminCommand::SetAccessRoute { tenant, route } => {
            let route = match route {
                RouteArg::LineAndInternet => sekisho_policy::line::AccessRoute::LineAndInternet,
                RouteArg::LineOnly => sekisho_policy::line::AccessRoute::LineOnly,
            };
            let t = admin.set_access_route(&tenant, route).await?;
            println!("tenant {}: access route {}", t.id, t.access_route.as_str());
        }
        // Handled by `admin` before the store is opened.
        AdminCommand::Migrate | AdminCommand::BreachedImport { .. } => {}
        AdminCommand::Purge => {
            let removed = purge(&admin.store, &admin.config, admin.clock.now()).await?;
            println!("removed {removed} ended records");
        }
        AdminCommand::Users { tenant } => list_users(admin, tenant.as_deref()).await?,
    }
    Ok(())
}

/// `admin scim-token …`.
async fn scim_token(admin: &Admin, action: ScimTokenCommand) -> anyhow::Result<()> {
    use crate::admin::ScimTokenAction as A;
    let (tenant, name, action) = match action {
        ScimTokenCommand::List { tenant } => {
            let t = admin.scim_tokens(&tenant).await?;
            if t.scim_tokens.is_empty() {
                println!("tenant {}: no SCIM token", t.id);
            }
            for k in &t.scim_tokens {
                let nets = if k.networks.is_empty() {
                    "any network".to_string()
                } else {
                    k.networks.join(",")
                };
                let created = sekisho_policy::scim::datetime(k.created_at);
                println!("{}\tcreated {created}\t{nets}", k.name);
            }
            return Ok(());
        }
        ScimTokenCommand::Create {
            tenant,
            name,
            networks,
        } => (tenant, name, A::Create { networks }),
        ScimTokenCommand::Rotate { tenant, name } => (tenant, name, A::Rotate),
        ScimTokenCommand::Revoke { tenant, name, yes } => {
            confirmed(yes, &format!("Revoke the SCIM token '{name}'?"))?;
            (tenant, name, A::Revoke)
        }
    };
    match admin.scim_token(&tenant, &name, action).await? {
        Some(token) => {
            let base = admin.config.internet.public_url.trim_end_matches('/');
            println!("SCIM token '{name}' (shown once; keep it in your directory only):\n");
            println!("    {token}\n");
            println!("tenant URL: {base}{}", sekisho_policy::paths::SCIM);
        }
        None => println!("SCIM token '{name}' revoked"),
    }
    Ok(())
}

/// `admin export`: every record to a file only its owner can read.
async fn export(admin: &Admin, file: &Path) -> anyhow::Result<()> {
    let dump = admin.store.export().await?;
    let text = serde_json::to_string(&dump)?;
    write_private(file, text.as_bytes())
        .map_err(|e| InputError::error(format!("--file {}: {e}", file.display())))?;
    println!(
        "exported {} tenants, {} users, {} sessions, {} links to {}",
        dump.tenants.len(),
        dump.users.len(),
        dump.sessions.len(),
        dump.tickets.len(),
        file.display()
    );
    Ok(())
}

/// `admin import`: an export into an empty store.
async fn import(admin: &Admin, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| InputError::error(format!("--file {}: {e}", file.display())))?;
    let dump: crate::store::Dump = serde_json::from_str(&text)
        .map_err(|e| InputError::error(format!("--file {}: not an export: {e}", file.display())))?;
    if dump.format != crate::store::DUMP_FORMAT {
        return Err(InputError::error(format!(
            "--file {}: export format {} (this version reads {})",
            file.display(),
            dump.format,
            crate::store::DUMP_FORMAT
        )));
    }
    let (tenants, users) = (dump.tenants.len(), dump.users.len());
    match admin.store.import(dump).await {
        Ok(()) => println!("imported {tenants} tenants and {users} users"),
        Err(crate::store::StoreError::Stale) => {
            return Err(InputError::error(
                "the store already holds tenants or users: import only into an empty store",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// `admin tenants`: one line a tenant.
async fn list_tenants(admin: &Admin) -> anyhow::Result<()> {
    println!(
        "{:<34} {:<6} {:<9} {:<9} {:<18} USERS",
        "TENANT", "PLAN", "TWO-STEP", "PASSKEYS", "ACCESS ROUTE"
    );
    for (t, users) in admin.tenants().await? {
        println!(
            "{:<34} {:<6} {:<9} {:<9} {:<18} {}",
            t.id,
            t.plan.as_str(),
            if t.two_step_enabled { "on" } else { "off" },
            if t.passkeys_required {
                "required"
            } else {
                "optional"
            },
            t.access_route.as_str(),
            users
        );
    }
    Ok(())
}

/// `admin users`: one line a user, of one tenant or all.
async fn list_users(admin: &Admin, tenant: Option<&str>) -> anyhow::Result<()> {
    let users = admin.users(tenant).await?;
    println!(
        "{:<34} {:<34} {:<16} {:<8} {:<10} {:<7} EMAIL",
        "USER", "TENANT", "ROLE", "STATUS", "METHOD", "LOCKED"
    );
    for u in users {
        println!(
            "{:<34} {:<34} {:<16} {:<8} {:<10} {:<7} {}",
            u.id,
            u.tenant_id,
            u.role.as_str(),
            u.status.as_str(),
            u.method.as_str(),
            if u.locked { "yes" } else { "no" },
            u.email
        );
    }
    Ok(())
}

/// Writes `bytes` to a new file only its owner can read (an export holds
/// every account and the store's secrets).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The demo's breach filter, made from `demo-breached-passwords.txt` beside
/// its configuration when the filter the configuration names is missing.
fn demo_breach_filter(config: &Path) -> Result<(), ExitCode> {
    let Ok(parsed) = sekisho_config::load(config) else {
        return Ok(()); // load_config says what is wrong
    };
    let Some(filter) = parsed.password.breached_filter_file else {
        return Ok(());
    };
    let list = config
        .parent()
        .unwrap_or(Path::new("."))
        .join("demo-breached-passwords.txt");
    if filter.exists() || !list.exists() {
        return Ok(());
    }
    match sekisho_breached::import(&list, &filter, &mut |_| {}) {
        Ok(report) => {
            println!(
                "demo breach list: {} entries in {}",
                report.entries,
                filter.display()
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("{}: {e}", list.display());
            Err(ExitCode::from(2))
        }
    }
}

/// The line registered to the demo tenant.
const DEMO_LINE: &str = "CAF1234567890";

/// The demo's contract holder.
const DEMO_HOLDER: &str = "holder@demo.example.jp";

/// Where the demo keeps the holder's registration link between starts:
/// beside the embedded store, readable by its owner only.
fn demo_link_file(config: &sekisho_config::Config) -> Option<PathBuf> {
    match &config.store.backend {
        sekisho_config::StoreBackend::Embedded { path } => {
            Some(path.parent()?.join("demo-holder-link.txt"))
        }
        _ => None,
    }
}

fn keep_demo_link(config: &sekisho_config::Config, link: &str) {
    if let Some(file) = demo_link_file(config) {
        use std::os::unix::fs::OpenOptionsExt;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, link.as_bytes()));
        if let Err(e) = written {
            eprintln!("{}: {e}", file.display());
        }
    }
}

/// The holder's link printed at an earlier start, while it still works.
async fn kept_demo_link(admin: &Admin, config: &sekisho_config::Config) -> Option<String> {
    let link = std::fs::read_to_string(demo_link_file(config)?).ok()?;
    let token = link.trim().split("ticket=").nth(1)?;
    let hash = crate::crypto::token_hash(token);
    let now = admin.clock.now();
    match admin
        .store
        .peek_ticket(&hash, TicketPurpose::Invitation, now)
        .await
    {
        Ok(Some(_)) => Some(link.trim().to_string()),
        _ => None,
    }
}

/// Seeds the demo: a tenant with its holder the first time. Afterwards it
/// changes nothing it need not: the holder's link from the first start is
/// printed again while it works (a new one only once it has expired), and
/// no one else is mailed or has a link voided.
async fn seed_demo(config: &sekisho_config::Config) -> anyhow::Result<()> {
    let admin = Admin::open(config.clone())?;
    let users = admin.users(None).await?;
    let base = &config.internet.public_url;
    println!("\n════ Sekisho demo ════════════════════════════════════════");
    if users.is_empty() {
        let created = admin
            .create_tenant(Plan::Basic, DEMO_HOLDER, "デモ 契約者", true)
            .await?;
        // One East line, so the closed route can be tried at once.
        admin
            .store
            .save_line_settings(
                &created.tenant_id,
                sekisho_policy::line::AccessRoute::LineAndInternet,
                vec![DEMO_LINE.to_string()],
            )
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        keep_demo_link(config, &created.registration_link);
        println!("A tenant was created with its contract holder {DEMO_HOLDER}.");
        println!(
            "Register the holder's password here:\n\n    {}\n",
            created.registration_link
        );
    } else {
        let holder = users.iter().find(|u| {
            u.email == DEMO_HOLDER && u.status == sekisho_policy::model::UserStatus::Invited
        });
        if let Some(holder) = holder {
            let link = match kept_demo_link(&admin, config).await {
                Some(link) => link,
                None => {
                    let link = admin.reinvite(holder).await?;
                    keep_demo_link(config, &link);
                    link
                }
            };
            println!("{DEMO_HOLDER} has not registered yet; the link:\n\n    {link}\n");
        }
        let invited = users
            .iter()
            .filter(|u| u.status == sekisho_policy::model::UserStatus::Invited)
            .filter(|u| u.email != DEMO_HOLDER)
            .count();
        if invited > 0 {
            println!(
                "{invited} invited users have not registered yet; their links are in their \
                 invitation mail (the console's 再送 sends a new one)."
            );
        }
        for u in users
            .iter()
            .filter(|u| u.status == sekisho_policy::model::UserStatus::Active)
            .take(10)
        {
            println!(
                "Registered: {} ({}) — log in at {base}/.sekisho/login",
                u.email,
                u.role.as_str()
            );
        }
    }
    println!("The storage service (demo upstream) is at {base}/ once you are logged in.");
    if let Some(c) = &config.closed {
        println!(
            "The closed-network route (line authentication) is at {}/.sekisho/login:
             send the line in the {} header, e.g.

                 curl -i -H '{}: {DEMO_LINE}' {}/.sekisho/login

             (or set it with a browser extension). {DEMO_LINE} is registered to the demo tenant.",
            c.listener.public_url, c.line_header, c.line_header, c.listener.public_url
        );
    }
    println!("Mail and SMS are printed here (outbox). Stop with Ctrl-C.");
    println!("══════════════════════════════════════════════════════════\n");
    Ok(())
}
