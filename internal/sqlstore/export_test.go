package sqlstore

import "context"

// AppliedVersions returns the migration versions goose recorded as applied,
// in the order it recorded them.
func (db *DB) AppliedVersions(ctx context.Context) ([]int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}
