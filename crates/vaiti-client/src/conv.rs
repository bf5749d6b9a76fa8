//! Conversions between the server-facing ids of `vaiti-core` and the typed ids of
//! `vaiti-crypto` (the same 16 bytes; two types so the server never links the crypto crate).

macro_rules! convert {
    ($to_crypto:ident, $to_core:ident, $name:ident) => {
        #[allow(dead_code)]
        pub(crate) fn $to_crypto(id: vaiti_core::$name) -> vaiti_crypto::$name {
            vaiti_crypto::$name::from_bytes(*id.as_bytes())
        }
        #[allow(dead_code)]
        pub(crate) fn $to_core(id: vaiti_crypto::$name) -> vaiti_core::$name {
            vaiti_core::$name::from_bytes(id.to_bytes())
        }
    };
}

convert!(crypto_clinic, core_clinic, ClinicId);
convert!(crypto_user, core_user, UserId);
convert!(crypto_chart, core_chart, ChartId);
convert!(crypto_branch, core_branch, BranchId);
convert!(crypto_object, core_object, ObjectId);
convert!(crypto_key, core_key, KeyId);
