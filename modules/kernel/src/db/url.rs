//! Which backend a database URL names, and the pieces of it the kernel needs.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
        })
    }
}

/// A parsed database URL. `Display` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (`sqlite://data/users.db` → `data/users.db`).
    Sqlite { path: String },
    /// `mysql://user:pass@host:3306/db`.
    Mysql { url: String, server: String, database: String },
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite://data/users.db".into());
            }
            return Ok(Self::Sqlite { path: path.to_owned() });
        }
        if let Some(rest) = url.strip_prefix("mysql://") {
            let (authority, path) = rest
                .split_once('/')
                .ok_or("a mysql URL needs a database name, e.g. mysql://root@127.0.0.1:3306/shop_users")?;
            let database = path.split('?').next().unwrap_or_default().to_owned();
            if database.is_empty()
                || database.len() > 64
                || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!(
                    "mysql database name `{database}` must be 1-64 letters, digits or underscores"
                ));
            }
            return Ok(Self::Mysql { url: url.to_owned(), server: format!("mysql://{authority}"), database });
        }
        Err(format!(
            "unsupported database URL `{}`: expected sqlite://PATH or mysql://USER@HOST/DB",
            redact(url)
        ))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Mysql { .. } => Backend::Mysql,
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite://{path}"),
            Self::Mysql { url, .. } => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/users.db").expect("sqlite"),
            DatabaseUrl::Sqlite { path: "data/users.db".into() }
        );
        let DatabaseUrl::Mysql { server, database, .. } =
            DatabaseUrl::parse("mysql://root:pw@127.0.0.1:3306/shop_users?ssl_mode=DISABLED").expect("mysql")
        else {
            panic!("not mysql")
        };
        assert_eq!(server, "mysql://root:pw@127.0.0.1:3306");
        assert_eq!(database, "shop_users");
    }

    #[test]
    fn rejects_unsafe_database_names_and_unknown_schemes() {
        assert!(DatabaseUrl::parse("mysql://root@h/shop`; DROP").is_err());
        assert!(DatabaseUrl::parse("mysql://root@h").is_err());
        let err = DatabaseUrl::parse("postgres://u:secret@h/db").expect_err("scheme");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("mysql://shop:s3cret@db:3306/shop_orders").expect("mysql");
        assert_eq!(url.to_string(), "mysql://shop:***@db:3306/shop_orders");
    }
}
