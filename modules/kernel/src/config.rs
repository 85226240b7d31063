//! Layered configuration: the built-in `config/default.toml`, the files
//! `config/default.toml` and `config/$SHOP_ENV.toml` in the working directory
//! when present, then `SHOP__SECTION__KEY` environment variables (later wins).
//!
//! The kernel reads the sections every process shares; each module reads its
//! own (`[auth]`, `[orders]`, …) through [`Settings::section`], with its
//! defaults declared in its crate.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

const BUILT_IN_DEFAULTS: &str = include_str!("../../../config/default.toml");
/// Compiled in too, so production rules hold wherever the binary runs.
const BUILT_IN_PRODUCTION: &str = include_str!("../../../config/production.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
    Other,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleSettings>,
    #[serde(default)]
    pub remote: BTreeMap<String, RemoteSettings>,
    #[serde(default)]
    pub internal: InternalSettings,
    pub log: LogSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// Which `SHOP_ENV` the settings were loaded for; not a configuration key.
    #[serde(skip, default = "default_environment")]
    pub environment: Environment,
    /// Every layer merged, for the modules' own sections.
    #[serde(skip, default)]
    layers: Layers,
}

/// The merged layers; their `Debug` shows nothing, as they hold secrets in clear.
#[derive(Clone, Default)]
struct Layers(config::Config);

impl std::fmt::Debug for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Layers(…)")
    }
}

fn default_environment() -> Environment {
    Environment::Development
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub auto_migrate: bool,
    /// Connections (and the threads that use them) per module; unset: twice the cores.
    pub pool_size: Option<u32>,
    pub connect_timeout_secs: u64,
}

impl DatabaseSettings {
    /// `pool_size`, or twice the cores: more connections than that only queue
    /// in the database and switch threads (measured in bench/throughput.sh).
    pub fn connections(&self) -> u32 {
        self.pool_size.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            u32::try_from(cores * 2).unwrap_or(u32::MAX)
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModuleSettings {
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RemoteSettings {
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InternalSettings {
    /// Shared credential for `/internal/v1`; `SecretString` keeps it out of Debug output.
    pub token: Option<SecretString>,
    /// The credential being rotated out: still accepted, never sent.
    pub previous_token: Option<SecretString>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TelemetrySettings {
    /// OTLP/HTTP collector that receives the trace spans (e.g.
    /// `http://otel-collector:4318`); unset, nothing is exported.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A humantime duration (`90s`, `15m`, `30d`), for `#[serde(deserialize_with)]`.
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text)
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration like 15m: {e}")))
}

/// A list of strings, given as a list (TOML) or as one comma-separated value
/// (an environment variable), for `#[serde(deserialize_with)]`.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    let items = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(items) => items,
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items.into_iter().map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads the layers from the working directory and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env_name = std::env::var("SHOP_ENV").unwrap_or_else(|_| "development".into());
        Self::load_from(PathBuf::from("config"), &env_name, config_env())
    }

    /// The built-in defaults alone: no files, no environment (for tests and tools).
    pub fn built_in() -> Result<Self, ConfigError> {
        let layers = config::Config::builder()
            .add_source(config::File::from_str(BUILT_IN_DEFAULTS, config::FileFormat::Toml))
            .build()?;
        Self::from_layers(layers, Environment::Development)
    }

    /// Loads the layers from `dir`, for environment `env_name`, with `env` as the
    /// environment-variable layer (injectable for tests). An environment other
    /// than the built-in two needs its `<dir>/<name>.toml`.
    pub fn load_from(dir: PathBuf, env_name: &str, env: config::Environment) -> Result<Self, ConfigError> {
        use config::{File, FileFormat};
        let environment = match env_name {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ if dir.join(format!("{env_name}.toml")).is_file() => Environment::Other,
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "SHOP_ENV={env_name} names no configuration: use development, production, or a name \
                     with its own {}",
                    dir.join(format!("{env_name}.toml")).display()
                )))
            }
        };
        let built_in_env = if environment == Environment::Production { BUILT_IN_PRODUCTION } else { "" };
        let layers = config::Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(built_in_env, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{env_name}.toml"))).required(false))
            .add_source(env)
            .build()?;
        Self::from_layers(layers, environment)
    }

    fn from_layers(layers: config::Config, environment: Environment) -> Result<Self, ConfigError> {
        let mut settings: Settings = layers.clone().try_deserialize()?;
        settings.environment = environment;
        settings.layers = Layers(layers);
        Ok(settings)
    }

    /// A module's section (`[auth]`, `[orders]`, …): `T::default()` under
    /// whatever the layers set. The error names the value that does not parse.
    pub fn section<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        match self.layers.0.get::<T>(name) {
            Ok(section) => Ok(section),
            Err(config::ConfigError::NotFound(_)) => Ok(T::default()),
            Err(e) => Err(ConfigError::Invalid(format!("[{name}]: {e}"))),
        }
    }

    /// Sets one key of a module's section, as an environment variable would
    /// (for tests and tools), e.g. `settings.set("orders.reservation_ttl", "1s")`.
    /// The shared sections are plain fields: set those directly.
    pub fn set(&mut self, key: &str, value: impl Into<config::Value>) -> Result<(), ConfigError> {
        let layers =
            config::Config::builder().add_source(self.layers.0.clone()).set_override(key, value)?.build()?;
        self.layers = Layers(layers);
        Ok(())
    }

    /// The database URL of one module: its override, else the template.
    pub fn database_url(&self, module: &str) -> String {
        self.modules
            .get(module)
            .and_then(|m| m.database_url.clone())
            .unwrap_or_else(|| self.database.url.replace("{module}", module))
    }

    /// The base URL of a module hosted elsewhere, or a message saying which key is missing.
    pub fn remote_url(&self, module: &str) -> Result<String, ConfigError> {
        self.remote
            .get(module)
            .map(|r| r.url.trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "module `{module}` is not compiled into this binary: set remote.{module}.url \
                     (SHOP__REMOTE__{}__URL) to the service that hosts it",
                    module.to_uppercase()
                ))
            })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// `SHOP__DATABASE__URL` → `database.url`.
pub fn config_env() -> config::Environment {
    config::Environment::with_prefix("SHOP").prefix_separator("__").separator("__")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> config::Environment {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        config_env().source(Some(map))
    }

    #[test]
    fn built_in_defaults_match_the_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Settings::load_from(dir.path().into(), "development", env(&[])).expect("load");
        assert_eq!(s.database.url, "sqlite://data/{module}.db");
        assert!(s.database.auto_migrate);
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url("users"), "sqlite://data/users.db");
        assert!(s.internal.token.is_none());
    }

    #[test]
    fn environment_variables_override_files_and_nest_with_double_underscores() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("staging.toml"), "[database]\nurl = \"sqlite://x/{module}.db\"\n")
            .expect("write");
        let s = Settings::load_from(
            dir.path().into(),
            "staging",
            env(&[
                ("SHOP__MODULES__USERS__DATABASE_URL", "mysql://u@h/only_users"),
                ("SHOP__ORDERS__RESERVATION_TTL", "2m"),
                ("SHOP__REMOTE__CATALOG__URL", "http://catalog:8080/"),
            ]),
        )
        .expect("load");
        assert_eq!(s.database_url("auth"), "sqlite://x/auth.db");
        assert_eq!(s.database_url("users"), "mysql://u@h/only_users");
        #[derive(Debug, Default, serde::Deserialize)]
        struct Orders {
            reservation_ttl: String,
        }
        assert_eq!(s.section::<Orders>("orders").expect("orders").reservation_ttl, "2m");
        assert_eq!(s.remote_url("catalog").expect("remote"), "http://catalog:8080");
        let missing = s.remote_url("payments").expect_err("missing remote");
        assert!(missing.to_string().contains("remote.payments.url"));
    }

    #[test]
    fn production_rules_hold_without_the_config_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Settings::load_from(dir.path().into(), "production", env(&[])).expect("load");
        assert!(s.is_production());
        assert!(!s.database.auto_migrate);
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn a_bad_duration_is_reported_with_its_value() {
        #[derive(Debug, Default, serde::Deserialize)]
        struct Orders {
            #[serde(deserialize_with = "duration", default)]
            #[allow(dead_code)]
            reservation_ttl: Duration,
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Settings::load_from(
            dir.path().into(),
            "development",
            env(&[("SHOP__ORDERS__RESERVATION_TTL", "soon")]),
        )
        .expect("load");
        let err = s.section::<Orders>("orders").expect_err("bad duration");
        assert!(err.to_string().contains("soon"), "{err}");
    }

    #[test]
    fn an_unknown_environment_stops_start_up_and_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Settings::load_from(dir.path().into(), "prod", env(&[])).expect_err("unknown");
        assert!(err.to_string().contains("SHOP_ENV=prod"), "{err}");
        std::fs::write(dir.path().join("staging.toml"), "").expect("write");
        assert!(Settings::load_from(dir.path().into(), "staging", env(&[])).is_ok());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Settings::load_from(
            dir.path().into(),
            "development",
            env(&[("SHOP__INTERNAL__TOKEN", "hunter2-very-secret")]),
        )
        .expect("load");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
