//! The `beffroi` binary: parses the command line and dispatches. Nothing else.

use std::process::ExitCode;

use clap::Parser;

mod admin;
mod apps;
mod backup;
mod bench;
mod bench_meetings;
mod bench_search;
mod bench_sites;
mod cli;
mod export_plone;
mod import_plone;
mod serve;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Serve(a) => serve::run(a),
        cli::Command::Site(a) => admin::site(a),
        cli::Command::User(a) => admin::user(a),
        cli::Command::Group(a) => admin::group(a),
        cli::Command::Operator(a) => admin::operator(a),
        cli::Command::Workflow(a) => admin::workflow(a),
        cli::Command::Reindex(a) => admin::reindex(a),
        cli::Command::Import(a) => import_plone::run(a),
        cli::Command::Export(a) => export_plone::run(a),
        cli::Command::Bench(a) => bench::run(a),
        cli::Command::Backup(a) => backup::backup(a),
        cli::Command::Restore(a) => backup::restore(a),
        cli::Command::Blobs(a) => backup::blobs(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
