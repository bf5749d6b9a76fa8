-- vaiti store, schema 6: finding a clinic's newest access-log leaf of one action. Shipped
-- migrations are never edited: add a new file instead.
--
-- Store::last_log_leaf_with_action (the server's newest app release, read at every start) asks
-- for `clinic_id = $1 AND substr(leaf, 2, 1) = $2 ORDER BY idx DESC LIMIT 1`, the second byte of
-- an encoded leaf being its action. With only the primary key that walks the clinic's whole log
-- backwards; this index makes it one descent. The expression must stay written exactly as in
-- the query for the planner to match it.
CREATE INDEX log_leaves_by_action ON log_leaves (clinic_id, substr(leaf, 2, 1), idx);
