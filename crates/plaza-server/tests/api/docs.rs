//! The documentation points at code that exists: every row of ARCHITECTURE.md's "Where
//! does it live" table names a file that is there and an item that is in it.

/// The workspace root (this crate is `crates/plaza-server`).
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `text` holds `name` as a whole identifier.
fn has_identifier(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn every_where_does_it_live_row_points_at_existing_code() {
    let architecture =
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = architecture
        .split("## Where does it live")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a \"Where does it live\" section");
    let rows: Vec<(String, String, String)> = section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| behaviour"))
        .map(|line| {
            let cells: Vec<String> =
                line.split('|').map(|c| c.trim().trim_matches('`').to_owned()).collect();
            (cells[1].clone(), cells[2].clone(), cells[3].clone())
        })
        .collect();
    assert!(rows.len() >= 20, "at least 20 behaviours, found {}", rows.len());
    let mut broken = Vec::new();
    for (behaviour, file, item) in &rows {
        match std::fs::read_to_string(root().join(file)) {
            Ok(text) if has_identifier(&text, item) => {}
            Ok(_) => broken.push(format!("{behaviour}: {item} is not in {file}")),
            Err(_) => broken.push(format!("{behaviour}: {file} does not exist")),
        }
    }
    assert!(broken.is_empty(), "ARCHITECTURE.md points at code that moved:\n{}", broken.join("\n"));
}

#[test]
fn the_identifier_check_matches_whole_names_only() {
    assert!(has_identifier("pub fn send(x)", "send"));
    assert!(!has_identifier("pub fn send_all(x)", "send"));
    assert!(!has_identifier("fn resend()", "send"));
}
