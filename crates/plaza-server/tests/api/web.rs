//! The browser client served by the binary, and its end-to-end tests: the
//! `@playwright/test` runner drives headless Chromium (Debian's `chromium`, never a
//! downloaded one) through the specs of `web/e2e/` against a real server. They need
//! `npm ci` in `web/` and a Chromium; without them the test says so and passes, unless
//! `PLAZA_REQUIRE_BROWSER=1` (as in CI). On failure it names the HTML report (traces and
//! screenshots of the failed tests included).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_client_is_served_at_the_root_with_its_assets() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(
        page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<div id=\"app\">"), "{html}");
    let script = html.split("src=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
    assert!(script.starts_with("/assets/app-") && script.ends_with(".js"), "{script}");

    let zipped =
        app.client.get(app.url(script)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(zipped.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let plain = app.client.get(app.url(script)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.bytes().await.unwrap().len() > 10_000);

    let missing = app.client.get(app.url("/assets/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The API keeps its own answers.
    let api = app.get("/api/nothing", None).await;
    api.assert_error(404, "route.not_found");
}

fn web_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMIUM_PATH") {
        return Some(PathBuf::from(path));
    }
    let found = std::process::Command::new("which").arg("chromium").output().ok()?;
    let path = String::from_utf8(found.stdout).ok()?.trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// Runs the browser scenarios `specs` (all when empty) in Debian's Chromium with `env`,
/// and answers what the runner said; fails with the place of the HTML report (with the
/// failures' traces and screenshots, kept beside the build in `<out>/report`) when a
/// scenario fails or the run outlasts `limit`.
pub(crate) async fn playwright(
    specs: &[&str],
    env: &[(&str, String)],
    out: &str,
    limit: Duration,
) -> String {
    let web = web_folder();
    let runner = web.join("node_modules/@playwright/test/cli.js");
    let chromium = chromium().expect("Chromium");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out);
    let report = out.join("report");
    let _ = std::fs::remove_dir_all(&out);
    let run = tokio::process::Command::new("node")
        .arg(&runner)
        .arg("test")
        .args(specs)
        .current_dir(&web)
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .env("CHROMIUM_PATH", &chromium)
        .env("PLAZA_E2E_REPORT", &report)
        .env("PLAZA_E2E_RESULTS", out.join("results"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(limit, run)
        .await
        .unwrap_or_else(|_| panic!("the browser scenarios did not finish within {limit:?}"))
        .expect("node runs");
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "browser scenarios failed:\n{said}\nthe HTML report, with traces and screenshots: {}/index.html \
         (`npx playwright show-report {}` in web/)",
        report.display(),
        report.display()
    );
    said
}

/// Whether the browser scenarios can run here (Chromium, and `npm ci` done in web/);
/// without, a test skips itself unless `PLAZA_REQUIRE_BROWSER=1`.
pub(crate) fn browser_available() -> bool {
    let required = std::env::var("PLAZA_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let runner = web_folder().join("node_modules/@playwright/test/cli.js");
    if chromium().is_some() && runner.is_file() {
        return true;
    }
    assert!(!required, "PLAZA_REQUIRE_BROWSER=1 but Chromium or web/node_modules is missing");
    eprintln!("no Chromium or no `npm ci` in web/: browser tests skipped");
    false
}

/// How long a 1:1 call rings in the browser scenarios (`meetings.ring_timeout_ms`).
const RING_TIMEOUT_MS: u64 = 8_000;

#[tokio::test]
async fn browser_scenarios_pass_in_headless_chromium() {
    if !browser_available() {
        return;
    }
    // A real SMTP server, so the scenarios that follow mailed links run too.
    let sink = crate::mail::SmtpSink::start();
    let app = crate::helpers::spawn_app_with(|settings| {
        if let Some(sink) = &sink {
            sink.configure(settings);
        }
        // Short enough for the call scenario to see a call ring out.
        settings.meetings.ring_timeout_ms = RING_TIMEOUT_MS;
    })
    .await;
    let screenshots = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("PLAZA_URL", app.base.clone()),
        ("PLAZA_RING_TIMEOUT_MS", RING_TIMEOUT_MS.to_string()),
        ("PLAZA_SCREENSHOTS", screenshots.path().display().to_string()),
    ];
    if let Some(sink) = &sink {
        env.push(("PLAZA_MAIL_LOG", sink.log.display().to_string()));
    }
    let said = playwright(&[], &env, "plaza-e2e", Duration::from_secs(480)).await;
    eprintln!("{said}");
    assert!(
        std::fs::read_dir(screenshots.path()).unwrap().count() >= 5,
        "screenshots of the main screens"
    );
}
