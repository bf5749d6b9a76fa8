-- vaiti store, schema 7: a revoked certificate keeps the signed statement of its revocation
-- (vaiti_core::signed::RevocationV1 and the revoker's signature), so clients can check who revoked
-- an account and remember it. Both NULL for certificates not revoked, for revocations made before
-- this schema, and for a patient's old portal account that a newer chart state replaced. Shipped
-- migrations are never edited: add a new file instead.
ALTER TABLE certificates ADD COLUMN revocation BLOB;
ALTER TABLE certificates ADD COLUMN revocation_signature BLOB;
