//! How the composition root builds the modules of one binary from a table:
//! each module crate exports a [`ModuleEntry`] (its [`ModuleInfo`] and the
//! function that builds it), each contract crate a [`Contract`] (how to reach
//! the module when it runs elsewhere). Modules hand each other their traits
//! through [`Provided`], so the root writes no module's dependencies twice.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::config::{ConfigError, Settings};
use crate::db::Database;
use crate::http::RemoteClient;
use crate::module::{Module, ModuleInfo};

/// A module crate's entry in the composition root's table.
pub struct ModuleEntry {
    pub info: &'static ModuleInfo,
    /// Builds the running module from what it needs, taken from `wiring`.
    pub build: fn(&mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError>,
}

/// A contract crate's entry: the module's name, and how to provide its traits
/// as HTTP clients when it is not compiled into this binary.
pub struct Contract {
    pub name: &'static str,
    pub remote: fn(RemoteClient, &mut Provided),
}

/// Why a module could not be built.
#[derive(Debug)]
pub struct WiringError(pub String);

impl fmt::Display for WiringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WiringError {}

impl From<ConfigError> for WiringError {
    fn from(e: ConfigError) -> Self {
        WiringError(e.to_string())
    }
}

/// The traits available to the modules being built (and, afterwards, to the
/// command line): the in-process services of the modules built so far, and the
/// HTTP clients of the modules hosted elsewhere. Keyed by trait object type.
#[derive(Default)]
pub struct Provided {
    traits: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Provided {
    /// Makes `api` the implementation of `T` (e.g. `Arc<dyn CatalogApi>`).
    pub fn provide<T: ?Sized + Send + Sync + 'static>(&mut self, api: Arc<T>) {
        self.traits.insert(TypeId::of::<Arc<T>>(), Box::new(api));
    }

    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.traits.get(&TypeId::of::<Arc<T>>())?.downcast_ref::<Arc<T>>().cloned()
    }
}

/// What a module's build function is given.
pub struct Wiring<'a> {
    settings: &'a Settings,
    databases: &'a HashMap<&'static str, Database>,
    provided: &'a mut Provided,
}

impl<'a> Wiring<'a> {
    pub fn new(
        settings: &'a Settings,
        databases: &'a HashMap<&'static str, Database>,
        provided: &'a mut Provided,
    ) -> Self {
        Self { settings, databases, provided }
    }

    /// The shared settings (environment, server, …).
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// The module's own configuration section, `[name]`: its defaults, with
    /// the configuration files and environment variables over them.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, WiringError> {
        Ok(self.settings.section(name)?)
    }

    /// The module's database, opened (and migrated) by the root.
    pub fn database(&self, module: &str) -> Result<Database, WiringError> {
        self.databases
            .get(module)
            .cloned()
            .ok_or_else(|| WiringError(format!("no database was opened for module {module}")))
    }

    /// The implementation of a trait the module calls: another module's
    /// service in-process, or its HTTP client.
    pub fn require<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Arc<T>, WiringError> {
        self.provided.get::<T>().ok_or_else(|| {
            WiringError(format!(
                "nothing provides {}: is the module that implements it built before its callers?",
                std::any::type_name::<T>()
            ))
        })
    }

    /// Offers one of this module's traits to the modules built after it.
    pub fn provide<T: ?Sized + Send + Sync + 'static>(&mut self, api: Arc<T>) {
        self.provided.provide(api);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn hello(&self) -> &'static str;
    }
    struct English;
    impl Greeter for English {
        fn hello(&self) -> &'static str {
            "hello"
        }
    }

    #[test]
    fn a_provided_trait_is_found_by_its_type() {
        let mut provided = Provided::default();
        assert!(provided.get::<dyn Greeter>().is_none());
        provided.provide::<dyn Greeter>(Arc::new(English));
        assert_eq!(provided.get::<dyn Greeter>().map(|g| g.hello()), Some("hello"));
    }
}
