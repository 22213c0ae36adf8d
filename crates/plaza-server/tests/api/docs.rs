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

/// For each crate, which top-level module names which other (`crate::x` outside tests).
fn module_graph(
    src: &std::path::Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(src, &mut paths);
    let top = |path: &std::path::Path| {
        let relative = path.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
        first.trim_end_matches(".rs").to_owned()
    };
    let names: std::collections::BTreeSet<String> = paths.iter().map(|p| top(p)).collect();
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for path in &paths {
        let module = top(path);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name != module && names.contains(&name) && name != "lib" && name != "main" {
                graph.entry(module.clone()).or_default().insert(name);
            }
        }
    }
    graph
}

/// Module circles inside a crate come from a type in the wrong module (issue 25); a
/// module reaching itself through others fails this test.
#[test]
fn no_module_inside_a_crate_reaches_itself() {
    let mut circles = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let graph = module_graph(&entry.path().join("src"));
        for start in graph.keys() {
            // Depth-first from `start`: any path back to it is a circle.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = std::collections::BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in graph.get(&node).into_iter().flatten() {
                    if next == start {
                        circles.push(format!(
                            "{}: {}",
                            entry.file_name().to_string_lossy(),
                            path.join(" → ")
                        ));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "module circles:\n{}", circles.join("\n"));
}
