-- The 照会番号 an access showed (PostgreSQL form of the SQLite migration of the same version and
-- name; the comments there explain it).
CREATE TABLE audit_shown (
    audit_seq  BIGINT NOT NULL,
    reference  TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX audit_shown_reference ON audit_shown (reference, at_ms);
CREATE INDEX audit_shown_seq ON audit_shown (audit_seq);
CREATE TRIGGER audit_shown_append_only BEFORE UPDATE ON audit_shown
    FOR EACH ROW EXECUTE FUNCTION pmhg_refuse_update('the audit is append-only');
