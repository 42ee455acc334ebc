//! `semaforo`: the binary. It parses the command line, loads the configuration and hands over
//! to a command; the work itself lives in the library crates and in this package's library
//! (`src/lib.rs`).

use std::process::ExitCode;

use clap::Parser;

use semaforo::cli::{Cli, Command, ConfigAction};
use semaforo::{commands, config, count, sim, EXIT_CONFIG};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = match cli.overrides() {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let workdir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let mut sources = config::Sources {
        file: cli.config.clone(),
        flags,
        workdir,
    };
    match cli.command {
        Command::Config {
            action: ConfigAction::Check { file },
        } => {
            if file.is_some() {
                sources.file = file;
            }
            commands::config_check(&sources)
        }
        Command::Config {
            action: ConfigAction::Keys,
        } => {
            print!("{}", config::schema::reference_table());
            ExitCode::SUCCESS
        }
        Command::CleanTemp(args) => commands::clean_temp(&sources, args.dry_run),
        Command::Probe(args) => commands::probe(&sources, &args),
        Command::Count(args) => count::count(&args, &sources),
        Command::Run(args) => commands::run(&sources, args.run_for, args.fast),
        Command::Sim(args) => sim::command(&args, cli.config.is_some().then_some(&sources)),
    }
}
