//! From raw measurements (JSON lines written by the benchmark script and by
//! `run --record`) to the budgets of PERFORMANCE.md: medians over rounds,
//! ratios, pass/fail, a JSON summary and a Markdown report with an SVG plot.

use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line of the measurements file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A wrk throughput run.
    Wrk {
        label: String,
        round: u32,
        rps: f64,
        p50_ms: f64,
        p99_ms: f64,
        errors: u64,
    },
    /// A scenario of this tool.
    Scenario { label: String, summary: Summary },
    /// A single number (hash rate, RSS, connection counts).
    Value { label: String, value: f64 },
    /// Facts about the machine and run.
    Note { label: String, text: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub id: &'static str,
    pub what: &'static str,
    pub budget: &'static str,
    pub measured: String,
    pub pass: Option<bool>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub notes: BTreeMap<String, String>,
    pub baselines: BTreeMap<String, (f64, f64, f64, u64)>,
    pub scenarios: BTreeMap<String, Summary>,
    pub values: BTreeMap<String, f64>,
    pub budgets: Vec<Budget>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A budget that is a ratio of two measurements; unmeasured when either is
/// missing.
fn ratio(
    id: &'static str,
    what: &'static str,
    budget: &'static str,
    num: f64,
    den: f64,
    ok: fn(f64) -> bool,
    detail: String,
) -> Budget {
    let r = num / den;
    let known = r.is_finite();
    Budget {
        id,
        what,
        budget,
        measured: if known {
            format!("{r:.2}×")
        } else {
            "not measured".into()
        },
        pass: known.then(|| ok(r)),
        detail,
    }
}

/// What one benchmark run measured, by label.
struct Measured {
    baselines: BTreeMap<String, (f64, f64, f64, u64)>,
    scenarios: BTreeMap<String, Summary>,
    values: BTreeMap<String, f64>,
    notes: BTreeMap<String, String>,
}

impl Measured {
    fn read(records: &[Record]) -> Measured {
        let mut wrk: BTreeMap<String, Vec<(f64, f64, f64, u64)>> = BTreeMap::new();
        let mut scenarios = BTreeMap::new();
        let mut values = BTreeMap::new();
        let mut notes = BTreeMap::new();
        for r in records {
            match r {
                Record::Wrk {
                    label,
                    rps,
                    p50_ms,
                    p99_ms,
                    errors,
                    ..
                } => wrk
                    .entry(label.clone())
                    .or_default()
                    .push((*rps, *p50_ms, *p99_ms, *errors)),
                Record::Scenario { label, summary } => {
                    scenarios.insert(label.clone(), summary.clone());
                }
                Record::Value { label, value } => {
                    values.insert(label.clone(), *value);
                }
                Record::Note { label, text } => {
                    notes.insert(label.clone(), text.clone());
                }
            }
        }
        let baselines: BTreeMap<String, (f64, f64, f64, u64)> = wrk
            .iter()
            .map(|(k, runs)| {
                let m = |f: fn(&(f64, f64, f64, u64)) -> f64| median(runs.iter().map(f).collect());
                (
                    k.clone(),
                    (
                        m(|r| r.0),
                        m(|r| r.1),
                        m(|r| r.2),
                        runs.iter().map(|r| r.3).sum(),
                    ),
                )
            })
            .collect();
        Measured {
            baselines,
            scenarios,
            values,
            notes,
        }
    }

    /// A wrk run's median requests per second.
    fn rps(&self, k: &str) -> f64 {
        self.baselines.get(k).map(|b| b.0).unwrap_or(f64::NAN)
    }

    fn val(&self, k: &str) -> f64 {
        self.values.get(k).copied().unwrap_or(f64::NAN)
    }

    fn scen(&self, k: &str) -> Option<&Summary> {
        self.scenarios.get(k)
    }
}

/// Builds the report from the measurement lines.
pub fn build(records: &[Record]) -> Report {
    let m = Measured::read(records);
    let mut budgets = Vec::new();
    latency_and_login_budgets(&m, &mut budgets);
    memory_budgets(&m, &mut budgets);
    error_budget(&m, &mut budgets);
    throughput_budgets(&m, &mut budgets);
    tls_budgets(&m, &mut budgets);
    store_budgets(&m, &mut budgets);
    breach_list_line(&m, &mut budgets);
    device_binding_line(&m, &mut budgets);
    instruction_and_revocation_budgets(&m, &mut budgets);
    budgets.sort_by_key(|b| b.id.trim_start_matches('P').parse::<u32>().unwrap_or(99));
    Report {
        notes: m.notes,
        baselines: m.baselines,
        scenarios: m.scenarios,
        values: m.values,
        budgets,
    }
}

/// P1, P3, P4, P13 and P5: throughput, tail and logins.
fn latency_and_login_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let rps = |k: &str| m.rps(k);
    let val = |k: &str| m.val(k);
    let scen = |k: &str| m.scen(k);
    budgets.push(ratio(
        "P1",
        "authenticated GET throughput, embedded store, 1,000+ rotating sessions",
        "≥ 0.90 × pingora-bare",
        rps("g_gateway"),
        rps("d_pingora_bare"),
        |r| r >= 0.90,
        format!(
            "{:.0} vs {:.0} req/s (wrk, medians)",
            rps("g_gateway"),
            rps("d_pingora_bare")
        ),
    ));
    let (g3, b3) = (
        scen("p3_gateway_fixed_rate").map(|s| s.p99_ms),
        scen("p3_pingora_bare_fixed_rate").map(|s| s.p99_ms),
    );
    budgets.push(ratio(
        "P3",
        "p99 at a fixed rate of 25% of pingora-bare's saturation",
        "≤ 1.25 × pingora-bare's p99",
        g3.unwrap_or(f64::NAN),
        b3.unwrap_or(f64::NAN),
        |r| r <= 1.25,
        format!(
            "{:.2} ms vs {:.2} ms at {:.0} req/s, both warm; the gateway's run before it, \
             every session's view aged out (read and signed again): p99 {:.2} ms",
            g3.unwrap_or(f64::NAN),
            b3.unwrap_or(f64::NAN),
            val("p3_rate"),
            scen("p3_gateway_cold").map_or(f64::NAN, |s| s.p99_ms),
        ),
    ));
    let login = scen("p4_login")
        .map(|s| s.throughput_rps)
        .unwrap_or(f64::NAN);
    budgets.push(ratio(
        "P4",
        "password logins per second, end to end",
        "≥ 0.80 × hash-bound",
        login,
        val("hash_rate"),
        |r| r >= 0.80,
        format!("{login:.1} logins/s vs {:.1} hashes/s", val("hash_rate")),
    ));
    let passkey = scen("p13_passkey_login")
        .map(|s| s.throughput_rps)
        .unwrap_or(f64::NAN);
    budgets.push(ratio(
        "P13",
        "passkey logins per second, end to end (no argon2)",
        "≥ 50 × password logins per second",
        passkey,
        login,
        |r| r >= 50.0,
        {
            let on = |label: &str| {
                scen(label).map_or_else(
                    || "not run".to_string(),
                    |s| {
                        format!(
                            "{:.1}/s ({:.1}×)",
                            s.throughput_rps,
                            s.throughput_rps / login
                        )
                    },
                )
            };
            format!(
                "{passkey:.1} passkey logins/s vs {login:.1} password logins/s (embedded store); \
                 Redis {}, PostgreSQL {}",
                on("p13_passkey_login_redis"),
                on("p13_passkey_login_postgres"),
            )
        },
    ));
    let (idle, mixed) = (scen("p5_browse_idle"), scen("p5_browse_during_login_flood"));
    let (ip99, mp99) = (
        idle.map(|s| s.p99_ms).unwrap_or(f64::NAN),
        mixed.map(|s| s.p99_ms).unwrap_or(f64::NAN),
    );
    budgets.push(ratio(
        "P5",
        "authenticated GET p99 during a login flood",
        "≤ 2 × its idle p99",
        mp99,
        ip99,
        |r| r <= 2.0,
        format!("{mp99:.2} ms vs {ip99:.2} ms"),
    ));
    let (it, mt) = (
        idle.map(|s| s.throughput_rps).unwrap_or(f64::NAN),
        mixed.map(|s| s.throughput_rps).unwrap_or(f64::NAN),
    );
    budgets.push(ratio(
        "P5",
        "authenticated GET throughput during a login flood",
        "≥ 0.7 × idle",
        mt,
        it,
        |r| r >= 0.7,
        format!("{mt:.0} vs {it:.0} req/s"),
    ));
}

/// P6, P8 and P9: connection reuse, idle connections, streamed bodies.
fn memory_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let val = |k: &str| m.val(k);
    let reuse = 1.0 - val("p6_upstream_connections") / val("p6_requests");
    budgets.push(Budget {
        id: "P6",
        what: "upstream connection reuse under keep-alive load",
        budget: "≥ 99%",
        measured: if reuse.is_finite() {
            format!("{:.3}%", reuse * 100.0)
        } else {
            "not measured".into()
        },
        pass: reuse.is_finite().then_some(reuse >= 0.99),
        detail: format!(
            "{:.0} upstream connections for {:.0} requests",
            val("p6_upstream_connections"),
            val("p6_requests")
        ),
    });
    let rss = val("p8_rss_mib");
    budgets.push(Budget {
        id: "P8",
        what: "gateway memory with 10,000 idle keep-alive client connections",
        budget: "≤ 200 MiB RSS",
        measured: if rss.is_finite() {
            format!("{rss:.0} MiB")
        } else {
            "not measured".into()
        },
        pass: rss.is_finite().then_some(rss <= 200.0),
        detail: format!(
            "{:.0} connections held, {:.0} answered; {:.0} MiB before them, so {:.1} KiB per connection",
            val("p8_connections"),
            val("p8_answered"),
            val("p8_rss_before_mib"),
            (rss - val("p8_rss_before_mib")) * 1024.0 / val("p8_connections")
        ),
    });
    for (label, dir) in [
        ("p9_rss_growth_upload_mib", "upload"),
        ("p9_rss_growth_download_mib", "download"),
    ] {
        let g = val(label);
        budgets.push(Budget {
            id: "P9",
            what: if dir == "upload" {
                "a 1 GiB upload through the gateway"
            } else {
                "a 1 GiB download through the gateway"
            },
            budget: "streamed: RSS grows < 32 MiB",
            measured: if g.is_finite() {
                format!("+{g:.1} MiB")
            } else {
                "not measured".into()
            },
            pass: g.is_finite().then_some(g < 32.0),
            detail: String::new(),
        });
    }
}

/// The load tool's name for a login answered "busy" (503): the hashing
/// queue's designed refusal when it is full, not a failure.
const BUSY: &str = "busy_503";

/// P10: every error of every run above; the "busy" answers counted apart.
fn error_budget(m: &Measured, budgets: &mut Vec<Budget>) {
    let count = |busy: bool| -> u64 {
        m.scenarios
            .values()
            .flat_map(|s| s.errors.iter())
            .filter(|(kind, _)| (kind.as_str() == BUSY) == busy)
            .map(|(_, n)| n)
            .sum()
    };
    let errors = m.baselines.values().map(|b| b.3).sum::<u64>() + count(false);
    let busy = count(true);
    budgets.push(Budget {
        id: "P10",
        what: "errors in every run above",
        budget: "0",
        measured: errors.to_string(),
        pass: Some(errors == 0),
        detail: format!(
            "{busy} logins answered \"busy\" (503 within the hashing queue's wait, its designed refusal), counted apart"
        ),
    });
}

/// P17: the authenticated GET over TLS, on HTTP/1.1 and on HTTP/2.
fn tls_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let rps = |k: &str| m.rps(k);
    for (protocol, what, tool) in [
        (
            "h1",
            "authenticated GET over TLS, HTTP/1.1",
            "wrk, rotating sessions",
        ),
        (
            "h2",
            "authenticated GET over TLS, HTTP/2",
            "h2load, 50 × 10 streams",
        ),
    ] {
        let (gateway, bare) = (
            format!("p17_gateway_tls_{protocol}"),
            format!("p17_pingora_bare_tls_{protocol}"),
        );
        budgets.push(ratio(
            "P17",
            what,
            "≥ 0.90 × pingora-bare over TLS",
            rps(&gateway),
            rps(&bare),
            |r| r >= 0.90,
            format!(
                "{:.0} vs {:.0} req/s ({tool}, medians)",
                rps(&gateway),
                rps(&bare)
            ),
        ));
    }
}

/// P11, P2, P12 and P14: the other stores and baselines.
fn throughput_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let rps = |k: &str| m.rps(k);
    budgets.push(ratio(
        "P11",
        "authenticated GET against LemonLDAP::NG, both with rotating sessions",
        "≥ 5 × LemonLDAP::NG",
        rps("g_gateway"),
        rps("h_llng_rotating"),
        |r| r >= 5.0,
        format!(
            "{:.0} vs {:.0} req/s",
            rps("g_gateway"),
            rps("h_llng_rotating")
        ),
    ));
    budgets.push(ratio(
        "P2",
        "authenticated GET throughput with the Redis store, 1,000+ rotating sessions",
        "≥ 0.85 × pingora-bare",
        rps("i_gateway_redis"),
        rps("d_pingora_bare"),
        |r| r >= 0.85,
        format!(
            "{:.0} vs {:.0} req/s (wrk, medians)",
            rps("i_gateway_redis"),
            rps("d_pingora_bare")
        ),
    ));
    budgets.push(ratio(
        "P12",
        "P1 with the proxies pinned to their own core (wrk, nginx, Redis and PostgreSQL on the other)",
        "≥ 0.90 × pingora-bare, pinned the same way",
        rps("p12_gateway_pinned"),
        rps("p12_pingora_bare_pinned"),
        |r| r >= 0.90,
        format!(
            "{:.0} vs {:.0} req/s (wrk, medians); pinned on Redis: {:.0} req/s, on PostgreSQL: {:.0} req/s",
            rps("p12_gateway_pinned"),
            rps("p12_pingora_bare_pinned"),
            rps("p12_gateway_redis_pinned"),
            rps("p12_gateway_postgres_pinned")
        ),
    ));
    budgets.push(ratio(
        "P14",
        "authenticated GET throughput with the PostgreSQL store, 1,000+ rotating sessions",
        "≥ 0.85 × pingora-bare",
        rps("j_gateway_postgres"),
        rps("d_pingora_bare"),
        |r| r >= 0.85,
        format!(
            "{:.0} vs {:.0} req/s (wrk, medians)",
            rps("j_gateway_postgres"),
            rps("d_pingora_bare")
        ),
    ));
}

/// P7: bytes per session on Redis, and beside it on PostgreSQL.
fn store_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let val = |k: &str| m.val(k);
    let bytes = val("p7_session_bytes");
    budgets.push(Budget {
        id: "P7",
        what: "store bytes per session (Redis MEMORY USAGE)",
        budget: "≤ 512 B",
        measured: if bytes.is_finite() {
            format!("{bytes:.0} B")
        } else {
            "not measured".into()
        },
        pass: bytes.is_finite().then_some(bytes <= 512.0),
        detail: format!(
            "mean of {:.0} session records; with its entry in the user's session index: {:.0} B",
            val("p7_sampled"),
            val("p7_session_bytes_with_index")
        ),
    });
    // Beside P7, with no budget of its own: what a session costs on PostgreSQL.
    let (row, total) = (val("p7_postgres_row_bytes"), val("p7_postgres_total_bytes"));
    budgets.push(Budget {
        id: "P7",
        what: "store bytes per session on PostgreSQL (beside P7; no budget of its own)",
        budget: "—",
        measured: if row.is_finite() {
            format!("{row:.0} B per row")
        } else {
            "not measured".into()
        },
        pass: None,
        detail: format!(
            "mean of {:.0} rows (pg_column_size); on disk, the table with its TOAST and indexes: {:.0} B per session",
            val("p7_postgres_sessions"),
            total
        ),
    });
}

/// Beside the budgets, with none of its own (S64): the breach list's import
/// speed, filter size and check time.
fn breach_list_line(m: &Measured, budgets: &mut Vec<Budget>) {
    let per_entry = m.val("breached_bytes_per_entry");
    budgets.push(Budget {
        id: "S64",
        what: "breach list: filter bytes per entry, import speed, check time (no budget)",
        budget: "—",
        measured: if per_entry.is_finite() {
            format!("{per_entry:.2} B per entry")
        } else {
            "not measured".into()
        },
        pass: None,
        detail: format!(
            "2,000,000 generated entries imported at {:.0} lines/s; {:.0} ns a check (SHA-1 and look-up)",
            m.val("breached_import_lines_per_second"),
            m.val("breached_check_ns")
        ),
    });
}

/// P15 (instructions per request, counted by callgrind) and P16 (the
/// time from an admin command's revocation to refusal, per backend).
fn instruction_and_revocation_budgets(m: &Measured, budgets: &mut Vec<Budget>) {
    let (gw, logged, bare) = (
        m.val("p15_gateway_ir_per_request"),
        m.val("p15_gateway_access_log_ir_per_request"),
        m.val("p15_pingora_bare_ir_per_request"),
    );
    budgets.push(ratio(
        "P15",
        "user-space instructions per authenticated GET, 1,000 sessions cached, access log off",
        "≤ 1.15 × pingora-bare's",
        gw,
        bare,
        |r| r <= 1.15,
        format!(
            "{gw:.0} vs {bare:.0} instructions a request (callgrind, 2,000 requests); access log on: {logged:.0} ({:.2}×)",
            logged / bare
        ),
    ));
    for (backend, limit) in [("embedded", 250.0), ("redis", 100.0), ("postgres", 100.0)] {
        let (median, max, missed) = (
            m.val(&format!("p16_{backend}_median_ms")),
            m.val(&format!("p16_{backend}_max_ms")),
            m.val(&format!("p16_{backend}_missed")),
        );
        let measured = max.is_finite() && missed.is_finite();
        budgets.push(Budget {
            id: "P16",
            what: match backend {
                "embedded" => "revocation by an admin command until refusal, embedded store",
                "redis" => "revocation by an admin command until refusal, Redis",
                _ => "revocation by an admin command until refusal, PostgreSQL",
            },
            budget: if limit > 200.0 { "≤ 250 ms" } else { "≤ 100 ms" },
            measured: if measured {
                format!("{max:.0} ms")
            } else {
                "not measured".into()
            },
            pass: measured.then_some(max <= limit && missed == 0.0),
            detail: format!(
                "the longest of 5 (median {median:.0} ms, {missed:.0} never refused); `sekisho admin end-sessions` in another process"
            ),
        });
    }
}

/// Beside the budgets, with none of its own (S62): the refresh rate of
/// device-bound sessions per gateway core, and a bound request's
/// throughput beside P1's unbound one.
fn device_binding_line(m: &Measured, budgets: &mut Vec<Budget>) {
    let per_cpu = m.val("dbsc_refreshes_per_cpu_second");
    let (bound, unbound) = (m.rps("g_gateway_bound"), m.rps("g_gateway"));
    budgets.push(Budget {
        id: "S62",
        what: "device-bound sessions: refreshes per gateway core, a bound GET beside P1 (no budget)",
        budget: "—",
        measured: if per_cpu.is_finite() {
            format!("{per_cpu:.0} refreshes per CPU-second")
        } else {
            "not measured".into()
        },
        pass: None,
        detail: format!(
            "{:.0} refreshes/s from 8 clients over 200 bound sessions ({:.0} errors); a bound GET {:.0} req/s vs {:.0} unbound ({:.2}×, wrk, medians)",
            m.val("dbsc_refreshes_per_second"),
            m.val("dbsc_errors"),
            bound,
            unbound,
            bound / unbound
        ),
    });
}

/// A latency-by-percentile plot of the scenarios, as SVG.
pub fn svg(report: &Report) -> String {
    let (w, h, left, bottom) = (720.0, 360.0, 60.0, 40.0);
    let series: Vec<(&String, &Summary)> = report
        .scenarios
        .iter()
        .filter(|(_, s)| s.requests > 0)
        .collect();
    let max_ms = series
        .iter()
        .flat_map(|(_, s)| s.percentiles.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    let colors = [
        "#0b57d0", "#b3261e", "#188038", "#e37400", "#9334e6", "#007b83", "#5f6368", "#c5221f",
    ];
    // x: percentile on a log scale of 1/(1-p): 0, 50, 90, 99, 99.9, 99.99.
    let x = |p: f64| {
        let nines = (1.0 / (1.0 - (p / 100.0).min(0.99999))).log10();
        left + nines / 5.0 * (w - left - 20.0)
    };
    let y = |ms: f64| h - bottom - ms / max_ms * (h - bottom - 20.0);
    let mut out = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">", h + 20.0 * series.len() as f64);
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>",
        h - bottom,
        w - 20.0,
        h - bottom
    );
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>",
        h - bottom
    );
    for p in [0.0, 50.0, 90.0, 99.0, 99.9, 99.99] {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{}\" text-anchor=\"middle\">p{p}</text>",
            x(p),
            h - bottom + 15.0
        );
    }
    for i in 0..=4 {
        let ms = max_ms * i as f64 / 4.0;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.0}\" text-anchor=\"end\">{ms:.1} ms</text>",
            left - 4.0,
            y(ms) + 4.0
        );
    }
    for (i, (name, s)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        let pts: Vec<String> = s
            .percentiles
            .iter()
            .filter(|p| p.0 < 100.0)
            .map(|(p, ms)| format!("{:.1},{:.1}", x(*p), y(*ms)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        let _ = write!(
            out,
            "<text x=\"{left}\" y=\"{:.0}\" fill=\"{c}\">■ {name}</text>",
            h + 14.0 * (i as f64 + 1.0)
        );
    }
    out.push_str("</svg>");
    out
}

/// The ablation's steps, in order, as `bench.sh` labels them.
const ABLATION: [(&str, &str); 4] = [
    ("1_session_only", "session look-up and verdict"),
    ("2_strip", "+ strip client identity headers and our cookies"),
    ("3_identity", "+ identity headers and X-Forwarded-*"),
    ("4_assertion", "+ signed assertion"),
];

/// One ablation table: each step's throughput, its ratio to pingora-bare,
/// and what it adds per request (µs of wall time at saturation, which on
/// the pinned run is the proxy core's CPU time).
fn ablation_table(md: &mut String, report: &Report, bare: &str, prefix: &str, full: &str) {
    let rps = |k: &str| report.baselines.get(k).map(|b| b.0);
    let Some(bare_rps) = rps(bare) else { return };
    let mut rows = vec![("pingora-bare".to_string(), bare_rps)];
    for (step, what) in ABLATION {
        if let Some(r) = rps(&format!("{prefix}{step}")) {
            rows.push((what.to_string(), r));
        }
    }
    if let Some(r) = rps(full) {
        rows.push(("+ metrics: the product".to_string(), r));
    }
    md.push_str("| step | req/s | × pingora-bare | µs per request | added by the step |\n|---|---|---|---|---|\n");
    let mut before: Option<f64> = None;
    for (what, r) in rows {
        let us = 1e6 / r;
        let added = before.map_or("—".to_string(), |b| format!("{:+.1}", us - b));
        let _ = writeln!(
            md,
            "| {what} | {r:.0} | {:.2} | {us:.1} | {added} |",
            r / bare_rps
        );
        before = Some(us);
    }
}

/// The ablation of the proxied path, shared and pinned.
fn ablation(md: &mut String, report: &Report) {
    if !report.baselines.keys().any(|k| k.starts_with("ab_")) {
        return;
    }
    md.push_str("\n## Ablation of the proxied path (wrk, medians)\n\nEach gateway runs the steps above it (`development.proxy_steps`). Shared CPUs:\n\n");
    ablation_table(md, report, "d_pingora_bare", "ab_", "g_gateway");
    if report.baselines.keys().any(|k| k.starts_with("abp_")) {
        md.push_str(
            "\nPinned (the proxy alone on its core, so µs per request is its CPU time):\n\n",
        );
        ablation_table(
            md,
            report,
            "p12_pingora_bare_pinned",
            "abp_",
            "p12_gateway_pinned",
        );
    }
}

/// The human report.
pub fn markdown(report: &Report, svg_name: &str) -> String {
    let mut md = String::from("# Sekisho benchmark report\n\n");
    for (k, v) in &report.notes {
        let _ = writeln!(md, "- **{k}**: {v}");
    }
    md.push_str("\n## Budgets (PERFORMANCE.md)\n\n| id | what | budget | measured | result | detail |\n|---|---|---|---|---|---|\n");
    for b in &report.budgets {
        let result = match b.pass {
            Some(true) => "pass",
            Some(false) => "**FAIL**",
            None => "—",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            b.id, b.what, b.budget, b.measured, result, b.detail
        );
    }
    md.push_str("\n## Throughput baselines (wrk -t2 -c50, medians over rounds)\n\n| target | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n");
    for (k, (rps, p50, p99, e)) in &report.baselines {
        let _ = writeln!(md, "| {k} | {rps:.0} | {p50:.2} | {p99:.2} | {e} |");
    }
    ablation(&mut md, report);
    md.push_str("\n## Scenarios (sekisho-loadtest)\n\n| scenario | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |\n|---|---|---|---|---|---|---|---|---|\n");
    for (k, s) in &report.scenarios {
        let errors: u64 = s.errors.values().sum();
        let _ = writeln!(
            md,
            "| {k} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {errors} |",
            s.requests, s.throughput_rps, s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms
        );
    }
    let _ = write!(
        md,
        "\n## Latency by percentile\n\n![latency]({svg_name})\n\n## Other measurements\n\n"
    );
    for (k, v) in &report.values {
        let _ = writeln!(md, "- {k}: {v:.2}");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Recorder;
    use std::time::Duration;

    fn wrk(label: &str, round: u32, rps: f64) -> Record {
        Record::Wrk {
            label: label.into(),
            round,
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
        }
    }

    #[test]
    fn p17_compares_each_protocol_over_tls_with_its_own_baseline() {
        let records = vec![
            wrk("p17_pingora_bare_tls_h1", 1, 10000.0),
            wrk("p17_gateway_tls_h1", 1, 9500.0),
            wrk("p17_pingora_bare_tls_h2", 1, 20000.0),
            wrk("p17_gateway_tls_h2", 1, 12000.0),
        ];
        let r = build(&records);
        let p17: Vec<_> = r.budgets.iter().filter(|b| b.id == "P17").collect();
        assert_eq!(p17.len(), 2);
        assert_eq!(
            (p17[0].measured.as_str(), p17[0].pass),
            ("0.95×", Some(true))
        );
        assert_eq!(
            (p17[1].measured.as_str(), p17[1].pass),
            ("0.60×", Some(false))
        );
        assert!(p17[1].what.contains("HTTP/2"), "{}", p17[1].what);
    }

    #[test]
    fn budgets_from_medians() {
        let mut rec = Recorder::default();
        rec.ok(Duration::from_millis(3));
        let records = vec![
            wrk("d_pingora_bare", 1, 30000.0),
            wrk("d_pingora_bare", 2, 20000.0),
            wrk("d_pingora_bare", 3, 31000.0),
            wrk("g_gateway", 1, 28000.0),
            wrk("g_gateway", 2, 27500.0),
            wrk("g_gateway", 3, 10.0),
            wrk("h_llng_rotating", 1, 1700.0),
            wrk("i_gateway_redis", 1, 24000.0),
            wrk("j_gateway_postgres", 1, 21000.0),
            Record::Value {
                label: "p7_postgres_row_bytes".into(),
                value: 180.0,
            },
            Record::Value {
                label: "hash_rate".into(),
                value: 60.0,
            },
            Record::Value {
                label: "p7_session_bytes".into(),
                value: 400.0,
            },
            Record::Scenario {
                label: "p4_login".into(),
                summary: rec.summary("p4_login", Duration::from_millis(20)),
            },
            Record::Scenario {
                label: "p13_passkey_login".into(),
                summary: rec.summary("p13_passkey_login", Duration::from_micros(200)),
            },
        ];
        let r = build(&records);
        let p1 = r.budgets.iter().find(|b| b.id == "P1").unwrap();
        assert_eq!(p1.measured, "0.92×", "median 27500 / median 30000");
        assert_eq!(p1.pass, Some(true));
        let p11 = r.budgets.iter().find(|b| b.id == "P11").unwrap();
        assert_eq!(p11.pass, Some(true));
        let p4 = r.budgets.iter().find(|b| b.id == "P4").unwrap();
        assert_eq!(p4.measured, "0.83×");
        let p13 = r.budgets.iter().find(|b| b.id == "P13").unwrap();
        assert_eq!(
            p13.pass,
            Some(true),
            "5000 vs 50 logins/s: {}",
            p13.measured
        );
        let p2 = r.budgets.iter().find(|b| b.id == "P2").unwrap();
        // PERFORMANCE.md asks 0.85 of the Redis and PostgreSQL stores.
        assert_eq!(p2.measured, "0.80×");
        assert_eq!(p2.pass, Some(false));
        let p7 = r.budgets.iter().find(|b| b.id == "P7").unwrap();
        assert_eq!((p7.measured.as_str(), p7.pass), ("400 B", Some(true)));
        let p14 = r.budgets.iter().find(|b| b.id == "P14").unwrap();
        assert_eq!((p14.measured.as_str(), p14.pass), ("0.70×", Some(false)));
        let on_postgres: Vec<_> = r.budgets.iter().filter(|b| b.id == "P7").collect();
        assert_eq!(
            on_postgres.len(),
            2,
            "Redis's budget, then PostgreSQL beside it"
        );
        assert_eq!(
            (on_postgres[1].measured.as_str(), on_postgres[1].pass),
            ("180 B per row", None)
        );
        let p8 = r.budgets.iter().find(|b| b.id == "P8").unwrap();
        assert_eq!(p8.pass, None, "missing measurements are said, not guessed");
        assert!(markdown(&r, "x.svg").contains("| P1 |"));
        assert!(svg(&r).starts_with("<svg"));
    }

    #[test]
    fn pinned_budget_and_ablation_table() {
        let records = vec![
            wrk("d_pingora_bare", 1, 25000.0),
            wrk("ab_1_session_only", 1, 24000.0),
            wrk("ab_4_assertion", 1, 20000.0),
            wrk("g_gateway", 1, 20000.0),
            wrk("p12_pingora_bare_pinned", 1, 32000.0),
            wrk("p12_gateway_pinned", 1, 30000.0),
            wrk("abp_2_strip", 1, 31000.0),
        ];
        let r = build(&records);
        let p12 = r.budgets.iter().find(|b| b.id == "P12").unwrap();
        assert_eq!((p12.measured.as_str(), p12.pass), ("0.94×", Some(true)));
        let md = markdown(&r, "x.svg");
        assert!(md.contains("## Ablation of the proxied path"));
        // 1e6/24000 - 1e6/25000 = 1.67 µs for the session look-up.
        assert!(
            md.contains("| session look-up and verdict | 24000 | 0.96 | 41.7 | +1.7 |"),
            "{md}"
        );
        assert!(md.contains("| + metrics: the product | 20000 | 0.80 | 50.0 | +0.0 |"));
        assert!(md.contains("Pinned"));
    }
}
