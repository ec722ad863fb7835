package app

import (
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/natsapi"
)

// Permissions of the embedded server's roles (config nats.users). A
// hospital reads the regional feeds, live and by replaying HERALD_ALERTS
// through its own consumers filtered to region subjects; it cannot read the
// alert log (which holds Restricted alerts of every region), the jobs or
// the buckets, and cannot publish anything. An originator may only submit.
var rolePermissions = map[string]*server.Permissions{
	"hospital": {
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO." + alertlog.StreamName,
			// The consumer's filter is part of the subject (nats.go sends it
			// so), which lets the server check it is a region subject.
			"$JS.API.CONSUMER.CREATE." + alertlog.StreamName + ".*." + alertlog.SubjectRegion + ">",
			"$JS.API.CONSUMER.INFO." + alertlog.StreamName + ".*",
			"$JS.API.CONSUMER.DELETE." + alertlog.StreamName + ".*",
			"$JS.API.CONSUMER.MSG.NEXT." + alertlog.StreamName + ".*",
			"$JS.ACK." + alertlog.StreamName + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{alertlog.SubjectRegion + ">", "_INBOX.>"}},
	},
	"originator": {
		Publish:   &server.SubjectPermission{Allow: []string{natsapi.SubjectSubmit}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	},
	"herald": nil, // another Herald process: everything
}

// authorize makes the embedded server require authentication: Herald's own
// connection with a fresh in-memory key (svc), plus the configured users.
func authorize(opts *server.Options, users []config.NATSUser, svc nkeys.KeyPair) error {
	pub, err := svc.PublicKey()
	if err != nil {
		return err
	}
	opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	for _, u := range users {
		perms := rolePermissions[u.Role]
		if u.Nkey != "" {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: u.Nkey, Permissions: perms})
			continue
		}
		opts.Users = append(opts.Users, &server.User{Username: u.User, Password: u.Password, Permissions: perms})
	}
	return nil
}
