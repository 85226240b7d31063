//! The users module's rules. Implements [`UsersApi`] for other modules and
//! serves the public handlers.

use kernel::auth::{AccessChange, AuthUser, Role};
use kernel::db::{is_unique_violation, stored_id, transaction, Database, TxError};
use kernel::error::validate;
use kernel::pagination::{Page, PageRequest};
use users_api::{AddressDto, NewUser, UserDto, UsersApi, UsersError};
use uuid::Uuid;

use crate::countries;
use crate::requests::{clean, AddressInput, AdminUserUpdate, UpdateProfile};
use crate::store::{self, AddressChanges, AddressRow, UserRow};

/// A user keeps at most this many addresses, so the list stays short.
pub const MAX_ADDRESSES: i64 = 20;

pub struct UsersService {
    db: Database,
}

type Result<T> = std::result::Result<T, UsersError>;

impl UsersService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn update_profile(&self, user: Uuid, changes: UpdateProfile) -> Result<UserDto> {
        let name = changes.name.as_deref().map(clean);
        validate(&UpdateProfile { name: name.clone() })?;
        if let Some(name) = name {
            let id = user.to_string();
            let updated = self.db.query(move |c| store::update_name(c, &id, &name, kernel::now())).await?;
            if updated == 0 {
                return Err(UsersError::NotFound);
            }
        }
        self.get_user(user).await
    }

    pub async fn list_users(&self, page: PageRequest) -> Result<Page<UserDto>> {
        let (rows, total) = self.db.query(move |c| store::list_users(c, page)).await?;
        let items = rows.into_iter().map(user_dto).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, page, total))
    }

    /// An admin changes a role or disables an account; never their own, so the
    /// last admin cannot lock everyone out by mistake.
    pub async fn admin_update(&self, actor: AuthUser, id: Uuid, changes: AdminUserUpdate) -> Result<UserDto> {
        let demotes_self = changes.role.is_some_and(|r| r != Role::Admin);
        if actor.id == id && (demotes_self || changes.disabled == Some(true)) {
            return Err(UsersError::SelfLockout);
        }
        let key = id.to_string();
        let found = self
            .db
            .query(move |c| {
                transaction(c, |c| {
                    let now = kernel::now();
                    let mut found = 1;
                    if let Some(role) = changes.role {
                        found = store::update_role(c, &key, role.as_str(), now)?;
                    }
                    if let Some(disabled) = changes.disabled {
                        found = store::update_disabled(c, &key, disabled, now)?;
                    }
                    if changes.role.is_none() && changes.disabled.is_none() {
                        found = usize::from(store::find_user(c, &key)?.is_some());
                    }
                    Ok::<_, diesel::result::Error>(found)
                })
            })
            .await?;
        if found == 0 {
            return Err(UsersError::NotFound);
        }
        self.get_user(id).await
    }

    pub async fn list_addresses(&self, user: Uuid) -> Result<Vec<AddressDto>> {
        let id = user.to_string();
        let rows = self.db.query(move |c| store::list_addresses(c, &id)).await?;
        rows.into_iter().map(address_dto).collect()
    }

    pub async fn create_address(&self, user: Uuid, input: AddressInput) -> Result<AddressDto> {
        let fields = checked_address(input)?;
        let now = kernel::now();
        let row = AddressRow {
            id: kernel::new_id().to_string(),
            user_id: user.to_string(),
            line1: fields.line1,
            line2: fields.line2,
            city: fields.city,
            postal_code: fields.postal_code,
            country: fields.country,
            created_at: now,
            updated_at: now,
        };
        let saved = row.clone();
        self.db
            .run(move |c| {
                transaction(c, |c| {
                    if store::find_user(c, &row.user_id)?.is_none() {
                        return Err(TxError::Rejected(UsersError::NotFound));
                    }
                    if store::count_addresses(c, &row.user_id)? >= MAX_ADDRESSES {
                        return Err(TxError::Rejected(UsersError::AddressLimit {
                            limit: MAX_ADDRESSES as u32,
                        }));
                    }
                    Ok(store::insert_address(c, &row)?)
                })
                .map_err(TxError::into_inner)
            })
            .await?;
        address_dto(saved)
    }

    pub async fn update_address(&self, user: Uuid, id: Uuid, input: AddressInput) -> Result<AddressDto> {
        let fields = checked_address(input)?;
        let changes = AddressChanges {
            line1: fields.line1,
            line2: fields.line2,
            city: fields.city,
            postal_code: fields.postal_code,
            country: fields.country,
            updated_at: kernel::now(),
        };
        let (owner, key) = (user.to_string(), id.to_string());
        let updated = self.db.query(move |c| store::update_address(c, &owner, &key, &changes)).await?;
        if updated == 0 {
            return Err(UsersError::AddressNotFound);
        }
        self.get_address(user, id).await
    }

    pub async fn delete_address(&self, user: Uuid, id: Uuid) -> Result<()> {
        let (owner, key) = (user.to_string(), id.to_string());
        let deleted = self.db.query(move |c| store::delete_address(c, &owner, &key)).await?;
        if deleted == 0 {
            return Err(UsersError::AddressNotFound);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl UsersApi for UsersService {
    async fn create_user(&self, new: NewUser) -> Result<UserDto> {
        let now = kernel::now();
        let row = UserRow {
            id: new.id.to_string(),
            email: new.email.clone(),
            name: new.name.clone(),
            role: new.role.as_str().to_owned(),
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        let inserted = self
            .db
            .query(move |c| match store::insert_user(c, &row) {
                Ok(()) => Ok(Ok(row)),
                Err(e) if is_unique_violation(&e) => Ok(Err(store::find_user(c, &row.id)?)),
                Err(e) => Err(e),
            })
            .await?;
        match inserted {
            Ok(row) => user_dto(row),
            // A retry of the same creation is answered with the user it made.
            Err(Some(existing)) if existing.email == new.email => user_dto(existing),
            Err(_) => Err(UsersError::EmailTaken),
        }
    }

    async fn get_user(&self, id: Uuid) -> Result<UserDto> {
        let key = id.to_string();
        let row = self.db.query(move |c| store::find_user(c, &key)).await?;
        user_dto(row.ok_or(UsersError::NotFound)?)
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<UserDto> {
        let key = id.to_string();
        let updated =
            self.db.query(move |c| store::update_role(c, &key, role.as_str(), kernel::now())).await?;
        if updated == 0 {
            return Err(UsersError::NotFound);
        }
        self.get_user(id).await
    }

    async fn access_changes(&self, since: i64) -> Result<Vec<AccessChange>> {
        let since = chrono::DateTime::from_timestamp(since, 0).unwrap_or_default().naive_utc();
        let rows = self.db.query(move |c| store::access_changes(c, since)).await?;
        rows.into_iter()
            .map(|row| {
                let role = Role::parse(&row.role).ok_or_else(|| {
                    UsersError::Internal(format!("stored role `{}` of user {} is unknown", row.role, row.id))
                })?;
                Ok(AccessChange {
                    user_id: stored_id(&row.id)?,
                    role,
                    disabled: row.disabled,
                    changed_at: row.access_changed_at.map_or(0, |at| at.and_utc().timestamp()),
                })
            })
            .collect()
    }

    async fn get_address(&self, user_id: Uuid, address_id: Uuid) -> Result<AddressDto> {
        let (owner, key) = (user_id.to_string(), address_id.to_string());
        let row = self.db.query(move |c| store::find_address(c, &owner, &key)).await?;
        address_dto(row.ok_or(UsersError::AddressNotFound)?)
    }
}

/// Trims, validates and normalises an address; 422 lists every bad field.
fn checked_address(input: AddressInput) -> Result<AddressInput> {
    let cleaned = AddressInput {
        line1: clean(&input.line1),
        line2: input.line2.as_deref().map(clean).filter(|l| !l.is_empty()),
        city: clean(&input.city),
        postal_code: clean(&input.postal_code),
        country: input.country.clone(),
    };
    let mut errors = match validate(&cleaned) {
        Ok(()) => Vec::new(),
        Err(e) => e.errors().to_vec(),
    };
    let country = countries::normalise(&input.country);
    if country.is_none() {
        errors.push(kernel::error::FieldError {
            field: "country".into(),
            message: "must be an ISO 3166-1 alpha-2 code such as FR".into(),
        });
    }
    match country {
        Some(country) if errors.is_empty() => Ok(AddressInput { country, ..cleaned }),
        _ => Err(UsersError::Invalid(errors)),
    }
}

fn user_dto(row: UserRow) -> Result<UserDto> {
    Ok(UserDto {
        id: stored_id(&row.id)?,
        role: Role::parse(&row.role).ok_or_else(|| {
            UsersError::Internal(format!("stored role `{}` of user {} is unknown", row.role, row.id))
        })?,
        email: row.email,
        name: row.name,
        disabled: row.disabled,
        created_at: row.created_at.and_utc(),
    })
}

fn address_dto(row: AddressRow) -> Result<AddressDto> {
    Ok(AddressDto {
        id: stored_id(&row.id)?,
        line1: row.line1,
        line2: row.line2,
        city: row.city,
        postal_code: row.postal_code,
        country: row.country,
    })
}
