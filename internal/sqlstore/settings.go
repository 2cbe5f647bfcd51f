package sqlstore

import (
	"context"
	"errors"
)

const (
	insertSetting = `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
	selectSetting = `SELECT value FROM settings WHERE name = $1`
)

// Secret returns the server secret, storing fresh as the secret first if none
// is stored yet. The first instance to store one wins, so every instance and
// every restart agrees on the one secret.
func (db *DB) Secret(ctx context.Context, fresh []byte) ([]byte, error) {
	const op = "secret"
	if len(fresh) == 0 {
		return nil, wrap(op, errors.New("fresh secret is empty"))
	}
	if _, err := db.exec(ctx, insertSetting, "secret", fresh); err != nil {
		return nil, wrap(op, err)
	}
	var secret []byte
	if err := db.queryRow(ctx, selectSetting, "secret").Scan(&secret); err != nil {
		return nil, wrap(op, err)
	}
	return secret, nil
}
