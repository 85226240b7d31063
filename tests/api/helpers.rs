//! One app per test, on a free port, with fresh databases: temporary SQLite
//! files by default, uniquely named MySQL databases (dropped afterwards) when
//! `SHOP_TEST_MYSQL_URL` is set.

use std::path::PathBuf;

use auth_api::Accounts;
use kernel::config::Settings;
use kernel::server::{JobRunner, JobSchedule};
use kernel::wiring::Provided;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use shop::app::Application;

pub const INTERNAL_TOKEN: &str = "test-internal-token";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The modules' background jobs: they never run on their own in tests.
    pub jobs: JobRunner,
    /// The traits the app's modules provide (admin accounts, …).
    pub provided: std::sync::Arc<Provided>,
    databases: std::sync::Arc<TestDatabases>,
}

/// Fresh databases of every module for one test: SQLite files in a temporary
/// folder, or uniquely named MySQL databases (dropped with it) when
/// `SHOP_TEST_MYSQL_URL` is set. The folder also holds the test's signing key.
pub struct TestDatabases {
    /// The `database.url` template.
    pub url: String,
    pub dir: tempfile::TempDir,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    mysql: Option<(String, String)>,
}

impl TestDatabases {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        match std::env::var("SHOP_TEST_MYSQL_URL") {
            Ok(server) if !server.is_empty() => {
                let server = server.trim_end_matches('/').to_owned();
                let prefix = format!("shop_t{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
                Self { url: format!("{server}/{prefix}_{{module}}"), dir, mysql: Some((server, prefix)) }
            }
            _ => Self { url: format!("sqlite://{}/{{module}}.db", dir.path().display()), dir, mysql: None },
        }
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        #[cfg(feature = "mysql")]
        if let Some((server, prefix)) = &self.mysql {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            if let Ok(mut conn) = diesel::mysql::MysqlConnection::establish(server) {
                for module in shop::app::CONTRACTS.map(|c| c.name) {
                    let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{prefix}_{module}`"));
                }
            }
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let databases = TestDatabases::new();
    let mut settings = Settings::built_in().expect("built-in settings");
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = Some(2);
    settings.internal.token = Some(SecretString::from(INTERNAL_TOKEN));
    let key = databases.dir.path().join("signing_key.pem").display().to_string();
    settings.set("auth.signing_key_file", key).expect("key file");
    settings.database.url = databases.url.clone();
    customise(&mut settings);
    start(settings, std::sync::Arc::new(databases)).await
}

async fn start(settings: Settings, databases: std::sync::Arc<TestDatabases>) -> TestApp {
    let app = Application::build_with(&settings, JobSchedule::Manual).await.expect("the app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (jobs, provided) = (app.jobs(), app.provided());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        settings,
        jobs,
        provided,
        databases,
    }
}

/// A registered, logged-in user.
pub struct User {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    /// A second replica of this app: its own process state, the same databases and keys.
    pub async fn replica(&self) -> TestApp {
        start(self.settings.clone(), self.databases.clone()).await
    }

    /// Runs every module's background jobs once, as their timers would.
    pub async fn run_jobs(&self) {
        self.jobs.run_all().await;
    }

    /// SQL statements each module has sent so far, from `db_statements_total` in `/metrics`.
    pub async fn statements(&self) -> std::collections::BTreeMap<String, u64> {
        let text = self.get("/metrics", None).await.text().await.expect("metrics");
        text.lines()
            .filter_map(|line| line.strip_prefix("db_statements_total{module=\""))
            .filter_map(|rest| {
                let (module, count) = rest.split_once("\"} ")?;
                Some((module.to_owned(), count.trim().parse().ok()?))
            })
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn key_file(&self) -> PathBuf {
        self.databases.dir.path().join("signing_key.pem")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body).await
    }

    pub async fn register(&self, email: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            None,
            &json!({ "email": email, "password": PASSWORD, "name": "Test User" }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login", None, &json!({ "email": email, "password": password })).await
    }

    /// Registers and logs in a new customer.
    pub async fn customer(&self, email: &str) -> User {
        let registered = self.register(email).await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let id = body(registered).await["id"].as_str().expect("id").to_owned();
        let tokens = body(self.login(email, PASSWORD).await).await;
        User {
            id,
            access: tokens["access_token"].as_str().expect("access token").to_owned(),
            refresh: tokens["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }

    /// Creates an admin the way `shop create-admin` does, and logs in.
    pub async fn admin(&self, email: &str) -> User {
        let accounts = self.provided.get::<dyn Accounts>().expect("the auth module provides accounts");
        let user = accounts.create_admin(email, PASSWORD.into()).await.expect("create admin");
        let tokens = body(self.login(email, PASSWORD).await).await;
        User {
            id: user.id.to_string(),
            access: tokens["access_token"].as_str().expect("access token").to_owned(),
            refresh: tokens["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }
}

pub async fn body(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a problem+json answer with `status` and stable `code`; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let problem = body(response).await;
    assert_eq!(content_type, "application/problem+json", "content type of {problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    let problem_type = problem["type"].as_str().expect("type");
    assert!(problem_type.ends_with(&format!("/problems/{code}")), "type {problem_type}, want code {code}");
    assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
    problem
}
