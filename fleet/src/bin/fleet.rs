//! `fleet`: runs the fleet scenarios of FLEET.md and prints their tables.
//!
//! ```text
//! cargo run --release -p asm-fleet --bin fleet -- --pods 10000 --secrets 10 --scenario deploy
//! ```

use std::process::ExitCode;
use std::time::Duration;

use asm_fleet::headline::{clean, largest_clean};
use asm_fleet::pod::Profile;
use asm_fleet::quota::{ParameterQuota, QuotaModel};
use asm_fleet::scenario::{AgentKind, Fleet, Scenario};

const USAGE: &str = "usage: fleet [--scenario deploy|deploy-1s|steady|rotation|outage|agent|all
                         |headline|headline-agent|past-quota|past-quota-1s]
             [--pods N] [--secrets K<=10]
             [--settings default|batching|recommended|unpaced|single-parameters]
             [--quota current|shared] [--quota-divided-by N] [--background REQUESTS_PER_S]
             [--store secrets|ssm] [--ssm-quota standard|higher]
             [--window SECONDS] [--hours H] [--per-node N] [--agent http|in-process]
             [--startup-jitter SECONDS] [--ttl SECONDS] [--max-pods N] [--from N]
             [--failover] [--seed S] [--check]
past-quota and past-quota-1s are deploy and deploy-1s checked against the goals of a fleet past
its quota; --per-node N puts any scenario's pods behind node agents of N pods: a simulated
Secrets Manager Agent per node, read through AgentSource (--agent in-process: one SecretCache
per node read in-process, the former model; always so for --store ssm); --background adds other services' GetSecretValue load during a rollout; --failover
gives each pod's cache the secrets' replicas in a second region (outage: only the primary fails).
--store ssm: pods read K SecureString parameters instead of secrets, ten a GetParameters call
(--settings single-parameters: a GetParameter each), against
Parameter Store's 40/s (--ssm-quota higher: 3,000/s); deploy, deploy-1s, steady, agent, headline*
and past-quota* scenarios only.
--check exits 1 when a scenario misses one of the goals in FLEET.md.";

struct Args {
    scenario: String,
    fleet: Fleet,
    /// `--store ssm`: read parameters.
    parameters: bool,
    /// `--ssm-quota`.
    parameter_quota: ParameterQuota,
    window: Duration,
    hours: u32,
    per_node: usize,
    max_pods: usize,
    from: usize,
    check: bool,
}

/// The arguments after the program's name.
fn parse(words: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        scenario: "deploy".to_owned(),
        fleet: Fleet {
            pods: 10_000,
            secrets: 10,
            parameters: None,
            profile: Profile::defaults(),
            model: QuotaModel::Current,
            per_node: None,
            agent: AgentKind::Http,
            seed: 1,
            background: 0,
            failover: false,
            stop_when_unclean: false,
        },
        parameters: false,
        parameter_quota: ParameterQuota::Standard,
        window: Duration::from_secs(60),
        hours: 24,
        per_node: 20,
        max_pods: 200_000,
        from: 100,
        check: false,
    };
    let mut it = words.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--check" {
            args.check = true;
            continue;
        }
        if flag == "--failover" {
            args.fleet.failover = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--scenario" => args.scenario = value,
            "--pods" => args.fleet.pods = number(&value)?,
            "--secrets" => {
                args.fleet.secrets = number(&value)?;
                if !(1..=asm_fleet::pod::MAX_SECRETS).contains(&args.fleet.secrets) {
                    return Err("--secrets must be 1 to 10".to_owned());
                }
            }
            "--settings" => {
                args.fleet.profile =
                    Profile::named(&value).ok_or_else(|| format!("unknown settings {value}"))?;
            }
            "--quota" => {
                args.fleet.model = match value.as_str() {
                    "current" => QuotaModel::Current,
                    "shared" => QuotaModel::SharedGetDescribe,
                    _ => return Err(format!("unknown quota model {value}")),
                }
            }
            "--quota-divided-by" => {
                args.fleet.model = QuotaModel::CurrentDividedBy(number(&value)?.max(1) as u32)
            }
            "--store" => {
                args.parameters = match value.as_str() {
                    "secrets" => false,
                    "ssm" => true,
                    _ => return Err(format!("unknown store {value}")),
                }
            }
            "--ssm-quota" => {
                args.parameter_quota = match value.as_str() {
                    "standard" => ParameterQuota::Standard,
                    "higher" => ParameterQuota::Higher,
                    _ => return Err(format!("unknown Parameter Store quota {value}")),
                }
            }
            "--background" => args.fleet.background = number(&value)? as u32,
            "--window" => args.window = Duration::from_secs(number(&value)? as u64),
            "--hours" => args.hours = number(&value)? as u32,
            // Given, it puts the pods of any scenario behind node agents (`agent` and
            // `headline-agent` use 20 a node without it).
            "--per-node" => {
                args.per_node = number(&value)?.max(1);
                args.fleet.per_node = Some(args.per_node);
            }
            "--agent" => {
                args.fleet.agent = match value.as_str() {
                    "http" => AgentKind::Http,
                    "in-process" => AgentKind::InProcess,
                    _ => return Err(format!("unknown agent {value}")),
                }
            }
            "--startup-jitter" => {
                args.fleet.profile.startup_jitter = Duration::from_secs(number(&value)? as u64);
            }
            "--ttl" => args.fleet.profile.ttl = Duration::from_secs(number(&value)? as u64),
            "--max-pods" => args.max_pods = number(&value)?,
            "--from" => args.from = number(&value)?.max(1),
            "--seed" => args.fleet.seed = number(&value)? as u64,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    args.fleet.parameters = args.parameters.then_some(args.parameter_quota);
    let agents = args.fleet.per_node.is_some() || args.scenario.contains("agent");
    if args.fleet.failover && agents && args.fleet.agent == AgentKind::Http && !args.parameters {
        return Err(
            "--failover: the Secrets Manager Agent reads one region (--agent in-process \
                    gives node caches failover)"
                .to_owned(),
        );
    }
    if args.parameters && matches!(args.scenario.as_str(), "rotation" | "outage" | "all") {
        return Err(format!("--store ssm runs no {} scenario", args.scenario));
    }
    Ok(args)
}

fn scenarios(args: &Args) -> Result<Vec<(Fleet, Scenario)>, String> {
    let direct = args.fleet.clone();
    let agent = Fleet {
        per_node: Some(args.per_node),
        ..direct.clone()
    };
    let deploy = Scenario::Deploy {
        window: args.window,
    };
    let burst = Scenario::Deploy {
        window: Duration::from_secs(1),
    };
    let steady = Scenario::Steady { hours: args.hours };
    let outage = Scenario::Outage {
        length: Duration::from_secs(600),
    };
    Ok(match args.scenario.as_str() {
        "deploy" | "past-quota" => vec![(direct, deploy)],
        "deploy-1s" | "past-quota-1s" => vec![(direct, burst)],
        "steady" => vec![(direct, steady)],
        "rotation" => vec![(direct, Scenario::Rotation)],
        "outage" => vec![(direct, outage)],
        "agent" => vec![(agent, deploy)],
        "all" => vec![
            (direct.clone(), deploy),
            (direct.clone(), burst),
            (direct.clone(), steady),
            (direct.clone(), Scenario::Rotation),
            (direct, outage),
            (agent.clone(), deploy),
            (agent, burst),
        ],
        other => return Err(format!("unknown scenario {other}")),
    })
}

/// Bisects on the pod count for the largest clean 60 s rollout of the fleet `args` describe
/// (`through_agent`: one cache per `--per-node` pods) and prints the headline line.
async fn headline(args: &Args, through_agent: bool) {
    let fleet = Fleet {
        per_node: through_agent.then_some(args.per_node),
        ..args.fleet.clone()
    };
    let label = match (fleet.per_node, fleet.agent) {
        (Some(n), AgentKind::Http) if fleet.parameters.is_none() => format!(
            "Secrets Manager Agent ({n} pods/node, AgentSource), {} settings",
            fleet.profile.name
        ),
        (Some(n), _) => format!(
            "in-process node cache ({n} pods/node), {} settings",
            fleet.profile.name
        ),
        (None, _) => format!("direct, {} settings", fleet.profile.name),
    };
    let found = largest_clean(
        &fleet,
        args.window,
        args.from,
        args.max_pods,
        0.05,
        |pods, r| {
            let verdict = if clean(r) { "clean" } else { "not clean" };
            eprintln!("  {label}: {pods} pods: {verdict}");
        },
    )
    .await;
    let figure = match found {
        Some(n) if n >= args.max_pods => format!("at least {n} pods (the search's bound)"),
        Some(n) => format!("{n} pods"),
        None => format!("fewer than {} pods", args.from),
    };
    let reads = match fleet.parameters {
        None => "secrets".to_owned(),
        Some(level) => format!("parameters (Parameter Store {}/s)", level.limit()),
    };
    println!(
        "- {label}: {figure} x {} {reads} complete a {} s rolling deploy with 0 failed starts \
         and no action above its quota",
        args.fleet.secrets,
        args.window.as_secs()
    );
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start a runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(rest) = args.scenario.strip_prefix("headline") {
        runtime.block_on(headline(&args, rest == "-agent"));
        return ExitCode::SUCCESS;
    }
    let runs = match scenarios(&args) {
        Ok(runs) => runs,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut missed_any = false;
    for (fleet, scenario) in runs {
        let wall = std::time::Instant::now();
        let report = runtime.block_on(fleet.run(scenario));
        println!("{report}");
        let ready_goal =
            matches!(scenario, Scenario::Deploy { window } if window >= Duration::from_secs(60))
                .then_some(Duration::from_secs(5));
        let missed = if args.scenario.starts_with("past-quota") {
            report.missed_past_quota_goals(fleet.calls_needed())
        } else {
            report.missed_goals(ready_goal, fleet.profile.ttl)
        };
        for goal in &missed {
            println!("- goal missed: {goal}");
        }
        println!("- wall time {:.1} s\n", wall.elapsed().as_secs_f64());
        missed_any |= !missed.is_empty();
    }
    if args.check && missed_any {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios_of(line: &str) -> Vec<(Fleet, Scenario)> {
        let args = parse(line.split_whitespace().map(str::to_owned)).expect("valid arguments");
        scenarios(&args).expect("a known scenario")
    }

    #[test]
    fn per_node_puts_any_scenario_behind_node_agents() {
        for scenario in ["past-quota", "deploy", "past-quota-1s", "outage"] {
            let line = format!("--scenario {scenario} --per-node 20");
            for (fleet, _) in scenarios_of(&line) {
                assert_eq!(fleet.per_node, Some(20), "{line}");
            }
        }
        let (direct, _) = &scenarios_of("--scenario past-quota")[0];
        assert_eq!(direct.per_node, None);
        let (agent, _) = &scenarios_of("--scenario agent")[0];
        assert_eq!(agent.per_node, Some(20));
    }
}
