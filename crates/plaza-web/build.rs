//! Builds the browser client (`web/`, with the machine's Node and npm) into this
//! crate's output folder and writes the table that embeds every file into the binary.
//! `PLAZA_WEB_DIST` names an already built copy instead (packagers, machines without
//! Node). Nothing built is ever committed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    for watched in
        ["app", "sdk/src", "scripts", "package.json", "package-lock.json", "tsconfig.json"]
    {
        println!("cargo:rerun-if-changed={}", web.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=PLAZA_WEB_DIST");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let dist = match std::env::var("PLAZA_WEB_DIST") {
        Ok(prebuilt) if !prebuilt.is_empty() => PathBuf::from(prebuilt),
        _ => build(&web, &out.join("web")),
    };
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    assert!(
        files.iter().any(|(name, _)| name == "/index.html"),
        "the web client build made no index.html in {}",
        dist.display()
    );
    let mut table = String::from("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (name, path) in files {
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).expect("write assets.rs");
}

/// Runs the client's own build into `into`, installing its packages first if needed.
fn build(web: &Path, into: &Path) -> PathBuf {
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&installed).is_none() || modified(&installed) < modified(&lock) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(web));
    }
    run(Command::new("node").arg("scripts/build.mjs").env("PLAZA_WEB_OUT", into).current_dir(web));
    into.to_owned()
}

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|error| {
        panic!(
            "could not run {:?} ({error}): building Plaza needs Node 20+ and npm for its web \
             client, or PLAZA_WEB_DIST naming an already built web/dist",
            command.get_program()
        )
    });
    assert!(status.success(), "{command:?} failed: {status}");
}

/// Every file under `dir`, as (URL path, file path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let url = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
            files.push((url, path.canonicalize().expect("canonical path")));
        }
    }
}
