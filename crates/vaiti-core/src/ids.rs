//! Identifiers. Every id is 16 random bytes, printed as 32 lowercase hex characters.
//!
//! The byte layout matches `vaiti-crypto`'s ids, so a client converts between the two by bytes;
//! this crate does not depend on `vaiti-crypto` because the server must not.

use core::fmt;
use core::str::FromStr;

/// An id that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an id: expected 32 hexadecimal characters")]
pub struct IdError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// Parses raw bytes of any length; only 16 are an id.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, IdError> {
                bytes.try_into().map(Self).map_err(|_| IdError)
            }

            /// A fresh random id (never all zero, which formats reserve for "none").
            pub fn generate() -> Result<Self, getrandom::Error> {
                loop {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes)?;
                    if bytes != [0u8; 16] {
                        return Ok(Self(bytes));
                    }
                }
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in &self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex16(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        /// In the OpenAPI document: 32 lowercase hexadecimal characters.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9a-f]{32}$"))
                    .min_length(Some(32))
                    .max_length(Some(32))
                    .description(Some(concat!(
                        "A ",
                        stringify!($name),
                        ": 16 random bytes as 32 lowercase hexadecimal characters."
                    )))
                    .examples(["0123456789abcdef0123456789abcdef"])
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

fn parse_hex16(s: &str) -> Result<[u8; 16], IdError> {
    let bytes = s.as_bytes();
    if bytes.len() != 32 {
        return Err(IdError);
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = hex_value(pair.first().copied())?;
        let lo = hex_value(pair.get(1).copied())?;
        *o = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_value(c: Option<u8>) -> Result<u8, IdError> {
    match c {
        Some(c @ b'0'..=b'9') => Ok(c - b'0'),
        Some(c @ b'a'..=b'f') => Ok(c - b'a' + 10),
        Some(c @ b'A'..=b'F') => Ok(c - b'A' + 10),
        _ => Err(IdError),
    }
}

id_type!(
    /// A clinic: one patient register. A server hosts many that share nothing.
    ClinicId
);
id_type!(
    /// A branch of a clinic.
    BranchId
);
id_type!(
    /// One patient's chart.
    ChartId
);
id_type!(
    /// One stored object across its versions (a note, an identity record, a search card, ...).
    ObjectId
);
id_type!(
    /// A user account, staff or patient.
    UserId
);
id_type!(
    /// An invite, derived by the inviter's client from the invite secret.
    InviteId
);
id_type!(
    /// A key id as computed by `vaiti-crypto` (from the key or its public half).
    KeyId
);
id_type!(
    /// A detection alert (`docs/access-log.md` "Detection").
    AlertId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = ChartId::generate().unwrap();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<ChartId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<ChartId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "00",
            &"g".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
            "ä0000000000000000000000000000000",
        ] {
            assert_eq!(bad.parse::<UserId>(), Err(IdError), "{bad:?}");
        }
        assert!(serde_json::from_str::<UserId>("\"xyz\"").is_err());
        assert!(serde_json::from_str::<UserId>("17").is_err());
    }
}
