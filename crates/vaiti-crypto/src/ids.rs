//! Identifiers that appear inside cryptographic contexts.
//!
//! Every id is 16 random bytes. Newtypes keep a chart id from being passed where a user id is
//! expected. The all-zero value is reserved to mean "not applicable" inside fixed-layout contexts
//! (see `docs/formats.md`), so generated ids are never zero.

use crate::error::{Result, random_bytes};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps raw bytes (for example read back from storage).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// A fresh random id; never the reserved all-zero value.
            pub fn generate() -> Result<Self> {
                loop {
                    let mut bytes = [0u8; 16];
                    random_bytes(&mut bytes)?;
                    if bytes != [0u8; 16] {
                        return Ok(Self(bytes));
                    }
                }
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// The raw bytes, by value.
            pub const fn to_bytes(self) -> [u8; 16] {
                self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "("))?;
                for b in &self.0 {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ")")
            }
        }
    };
}

id_type!(
    /// A clinic: one patient register. A server hosts many clinics that share nothing.
    ClinicId
);
id_type!(
    /// A branch of a clinic; each has its own directory key.
    BranchId
);
id_type!(
    /// One patient's chart.
    ChartId
);
id_type!(
    /// One stored object (a note, an identity record, a search card, ...), across its versions.
    ObjectId
);
id_type!(
    /// A user account, staff or patient.
    UserId
);
id_type!(
    /// Names a key: derived from the key (symmetric keys) or from its public half (key pairs), so a
    /// key id can be checked against the key it names.
    KeyId
);

/// The tier of a case key: who may read what it protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// Process notes: the care team (and escrow) only. The default for a new note.
    Team,
    /// Notes the patient may also read.
    Shared,
}

impl Tier {
    /// The byte that encodes this tier in contexts (0 means "no tier").
    pub const fn to_byte(self) -> u8 {
        match self {
            Tier::Team => 1,
            Tier::Shared => 2,
        }
    }

    /// Parses a tier byte; 0 and unknown values are not tiers.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Tier::Team),
            2 => Some(Tier::Shared),
            _ => None,
        }
    }
}

/// A key epoch. Removing a member from a care team (or front desk from a branch) moves the chart
/// (or branch) to the next epoch, whose keys the removed member never receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The first epoch of a new chart or branch.
    pub const FIRST: Epoch = Epoch(1);

    /// The epoch after this one, or `None` at the (unreachable in practice) end of the range.
    pub const fn next(self) -> Option<Epoch> {
        match self.0.checked_add(1) {
            Some(n) => Some(Epoch(n)),
            None => None,
        }
    }
}
