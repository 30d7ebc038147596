//! `tributary elements check FILE…` and `tributary elements export KEY`: the first steps of
//! adding one's own provider — start from a built-in definition, edit it, and see each problem
//! at its line and column before the server loads it from `TRIBUTARY_ELEMENTS_DIR`.

use std::process::ExitCode;

use tributary_elements::Registry;
use tributary_elements::check::{Problem, check};
use tributary_elements::registry::builtin_definition;

/// Checks each file; prints `FILE:LINE:COLUMN: field: message` for each problem (stderr) and
/// `FILE: KEY is valid` for each good file (stdout). Exit 0 when every file is valid, 1 when
/// one has problems, 2 when one cannot be read.
pub fn check_files(files: &[std::path::PathBuf]) -> ExitCode {
    let builtin = Registry::load(None).ok();
    let mut worst = 0u8;
    for file in files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("{shown}: cannot be read: {error}");
                worst = 2;
                continue;
            }
        };
        match check(&text) {
            Ok(element) => {
                let taken = builtin
                    .as_ref()
                    .is_some_and(|registry| registry.get(&element.key).is_some());
                if taken {
                    let line = text
                        .lines()
                        .position(|line| line.trim_start().starts_with("key"))
                        .map_or(1, |i| i + 1);
                    let problem = Problem {
                        line,
                        column: 1,
                        field: Some("key".into()),
                        message: format!(
                            "{:?} is a built-in element's key; a definition of your own needs \
                             a key of its own, or the server refuses it as defined twice",
                            element.key
                        ),
                    };
                    eprintln!("{shown}:{problem}");
                    worst = worst.max(1);
                } else {
                    println!(
                        "{shown}: {} is valid ({} resources)",
                        element.key,
                        element.resources.len()
                    );
                }
            }
            Err(problems) => {
                for problem in &problems {
                    eprintln!("{shown}:{problem}");
                }
                eprintln!(
                    "{shown}: {} problem{}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                worst = worst.max(1);
            }
        }
    }
    ExitCode::from(worst)
}

/// Prints a built-in definition, comments included, as a starting point for one's own.
pub fn export(key: &str) -> ExitCode {
    match builtin_definition(key) {
        Some(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        None => {
            let known = Registry::load(None)
                .map(|registry| registry.keys().join(", "))
                .unwrap_or_default();
            eprintln!("error: no built-in element {key:?}; the built-in ones are: {known}");
            ExitCode::from(2)
        }
    }
}
