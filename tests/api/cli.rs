//! The `shop` binary: migrations, create-admin, openapi, modules.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;

use crate::helpers::{body, spawn_app_with, PASSWORD};

/// A database URL template private to one test, and its cleanup.
struct Target {
    url: String,
    dir: tempfile::TempDir,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    mysql: Option<(String, String)>,
}

impl Target {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        match std::env::var("SHOP_TEST_MYSQL_URL") {
            Ok(server) if !server.is_empty() => {
                let server = server.trim_end_matches('/').to_owned();
                let prefix = format!("shop_c{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
                Self { url: format!("{server}/{prefix}_{{module}}"), dir, mysql: Some((server, prefix)) }
            }
            _ => Self { url: format!("sqlite://{}/{{module}}.db", dir.path().display()), dir, mysql: None },
        }
    }

    fn shop(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shop"))
            .args(args)
            .env("SHOP__DATABASE__URL", &self.url)
            .env("SHOP__AUTH__SIGNING_KEY_FILE", self.dir.path().join("key.pem"))
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

impl Drop for Target {
    fn drop(&mut self) {
        #[cfg(feature = "mysql")]
        if let Some((server, prefix)) = &self.mysql {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            if let Ok(mut conn) = diesel::mysql::MysqlConnection::establish(server) {
                for module in shop::app::ALL_MODULES {
                    let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{prefix}_{module}`"));
                }
            }
        }
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
    assert!(reverted.contains("users: reverted 2026-11-28-000001_create_users"), "{reverted}");
    let after = stdout(&target.shop(&["migrate", "status"], None));
    assert!(after.contains("[pending] 2026-11-28-000001_create_users"), "{after}");
    assert!(after.contains("[applied] 2026-11-28-000001_create_auth"), "only users was reverted: {after}");
}

#[test]
fn an_unknown_module_is_a_clear_error() {
    let target = Target::new();
    let output = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(["migrate", "run", "--module", "nope"])
        .env("SHOP__DATABASE__URL", &target.url)
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

    let url = target.url.clone();
    let key = target.dir.path().join("key.pem").display().to_string();
    let app = spawn_app_with(move |s| {
        s.database.url = url;
        s.auth.signing_key_file = key;
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
    for module in shop::app::ALL_MODULES {
        assert!(modules.contains(&format!("{module}: compiled in")), "{modules}");
    }
}
