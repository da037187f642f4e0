-- Answers are sealed under their check id (see the SQLite migration of the same version).
DELETE FROM answers;
