//! The `shop` binary: migrations, create-admin, openapi, modules.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;

use crate::helpers::{body, spawn_app_with, TestDatabases, PASSWORD};

/// The `shop` binary pointed at databases private to one test.
struct Target {
    db: TestDatabases,
}

impl Target {
    fn new() -> Self {
        Self { db: TestDatabases::new() }
    }

    fn key_file(&self) -> std::path::PathBuf {
        self.db.dir.path().join("key.pem")
    }

    fn shop(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shop"))
            .args(args)
            .env("SHOP__DATABASE__URL", &self.db.url)
            .env("SHOP__AUTH__SIGNING_KEY_FILE", self.key_file())
            .env("SHOP__LOG__FILTER", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("shop runs");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        let output = child.wait_with_output().expect("shop ends");
        assert!(output.status.success(), "shop {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn migrate_run_status_and_revert() {
    let target = Target::new();
    let before = stdout(&target.shop(&["migrate", "status"], None));
    assert!(before.contains("[pending] 2026-11-28-000001_create_users"), "{before}");
    assert!(before.contains("[pending] 2026-11-28-000001_create_auth"), "{before}");

    let run = stdout(&target.shop(&["migrate", "run"], None));
    assert!(run.contains("applied 2026-11-28-000001_create_users"), "{run}");
    let again = stdout(&target.shop(&["migrate", "run"], None));
    assert!(again.contains("(0 applied)"), "idempotent: {again}");

    let applied = stdout(&target.shop(&["migrate", "status"], None));
    assert!(applied.contains("[applied] 2026-11-28-000001_create_users"), "{applied}");

    let reverted = stdout(&target.shop(&["migrate", "revert", "--module", "users"], None));
    assert!(reverted.contains("users: reverted 2026-12-04-000001_access_changed_at"), "{reverted}");
    let after = stdout(&target.shop(&["migrate", "status"], None));
    assert!(
        after.contains("[applied] 2026-11-28-000001_create_users"),
        "only the last was reverted: {after}"
    );
    assert!(after.contains("[pending] 2026-12-04-000001_access_changed_at"), "{after}");
    assert!(after.contains("[applied] 2026-11-28-000001_create_auth"), "only users was reverted: {after}");
}

#[test]
fn an_unknown_module_is_a_clear_error() {
    let target = Target::new();
    let output = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(["migrate", "run", "--module", "nope"])
        .env("SHOP__DATABASE__URL", &target.db.url)
        .output()
        .expect("shop runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("module `nope` is not compiled into this binary")
    );
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin() {
    let target = Target::new();
    let created = stdout(
        &target.shop(&["create-admin", "--email", "Admin@Example.com"], Some(&format!("{PASSWORD}\n"))),
    );
    assert!(created.contains("created admin admin@example.com"), "{created}");
    let promoted =
        stdout(&target.shop(&["create-admin", "--email", "admin@example.com"], Some("ignored password\n")));
    assert!(promoted.contains("promoted"), "{promoted}");

    let url = target.db.url.clone();
    let key = target.key_file().display().to_string();
    let app = spawn_app_with(move |s| {
        s.database.url = url;
        s.set("auth.signing_key_file", key).expect("key file");
    })
    .await;
    let tokens = body(app.login("admin@example.com", PASSWORD).await).await;
    let access = tokens["access_token"].as_str().expect("token");
    assert_eq!(app.get("/api/v1/users", Some(access)).await.status(), StatusCode::OK);
    let me = body(app.get("/api/v1/users/me", Some(access)).await).await;
    assert_eq!(me["role"], "admin");
}

#[test]
fn openapi_and_modules_describe_this_binary() {
    let target = Target::new();
    let doc: serde_json::Value =
        serde_json::from_str(&stdout(&target.shop(&["openapi"], None))).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/auth/login"].is_object());
    let modules = stdout(&target.shop(&["modules"], None));
    assert!(modules.contains("users: compiled in"), "{modules}");
    assert!(modules.contains("auth: compiled in (calls users)"), "{modules}");
    for module in shop::app::CONTRACTS.map(|c| c.name) {
        assert!(modules.contains(&format!("{module}: compiled in")), "{modules}");
    }
}

#[test]
fn a_reader_that_stops_early_does_not_crash_the_command() {
    let target = Target::new();
    // `shop migrate status | head -1`: the pipe closes while shop still writes.
    let script = format!(
        "{} migrate status | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_shop")
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .env("SHOP__DATABASE__URL", &target.db.url)
        .env("SHOP__LOG__FILTER", "warn")
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "exit {:?}: {stderr}", output.status.code());
}
