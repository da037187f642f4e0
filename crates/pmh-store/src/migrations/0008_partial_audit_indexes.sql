-- Most audit records name no 照会番号 and no card (a check by insured identity): their indexes
-- keep only the records that do, so an ordinary check's record updates two indexes fewer. A
-- search `reference = ?` or `card = ?` implies the column is not null and still uses them.
DROP INDEX audit_reference;
CREATE INDEX audit_reference ON audit (reference, at_ms) WHERE reference IS NOT NULL;
DROP INDEX audit_card;
CREATE INDEX audit_card ON audit (card, at_ms) WHERE card IS NOT NULL;
