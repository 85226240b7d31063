//! The shape the compiler cannot see: each module's `depends_on` is what its
//! Cargo.toml depends on, problem codes are unique and all documented, and
//! module features are named in the composition root only.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The other modules' contract crates a module crate's Cargo.toml lists.
fn contract_dependencies(module: &str) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("modules").join(module).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("modules/{module}/Cargo.toml: {e}"));
    let dependencies = manifest.split("[dependencies]").nth(1).expect("a [dependencies] table");
    let dependencies = dependencies.split("\n[").next().unwrap_or_default();
    dependencies
        .lines()
        .filter_map(|line| line.split(['.', ' ', '=']).next())
        .filter_map(|name| name.strip_suffix("-api"))
        .filter(|name| *name != module)
        .map(str::to_owned)
        .collect()
}

#[test]
fn depends_on_is_what_cargo_says() {
    for info in shop::app::hosted_info() {
        let declared: BTreeSet<String> = info.depends_on.iter().map(|m| (*m).to_owned()).collect();
        assert_eq!(
            declared,
            contract_dependencies(info.name),
            "modules/{}: depends_on vs Cargo.toml",
            info.name
        );
    }
}

#[test]
fn every_problem_code_is_unique_and_documented() {
    let types = shop::app::problem_types();
    let codes: BTreeSet<&str> = types.iter().map(|t| t.code).collect();
    assert_eq!(codes.len(), types.len(), "a problem code is declared twice");
    let api = std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md");
    let documented: BTreeSet<(String, u16)> = api
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code.to_owned(), cells.get(2)?.parse().ok()?))
        })
        .collect();
    let declared: BTreeSet<(String, u16)> = types.iter().map(|t| (t.code.to_owned(), t.status)).collect();
    assert_eq!(declared, documented, "docs/api.md lists every problem code with its status, and only those");
}

#[test]
fn module_features_are_named_in_the_composition_root_only() {
    for file in std::fs::read_dir(root().join("src")).expect("src") {
        let path = file.expect("entry").path();
        if path.file_name().is_some_and(|name| name == "app.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        for module in shop::app::CONTRACTS.map(|c| c.name) {
            assert!(
                !text.contains(&format!("feature = \"{module}\"")),
                "{} names the {module} feature: only src/app.rs may",
                path.display()
            );
        }
    }
}
