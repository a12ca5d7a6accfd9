package broker

import (
	"slices"
	"strings"
)

// This file is the management side (rabbitmqctl's vhost, user and
// permission commands, and the listings), for `ferry ctl`, the config file
// and the admin HTTP API. Changes are saved to definitions.json at once.

// AddVHost creates a vhost with its predeclared exchanges.
func (b *Broker) AddVHost(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	b.mu.Lock()
	_, err := b.addVHost(name)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.saveDefinitions()
}

// DeleteVHost deletes a vhost with everything in it; its connections are
// closed with CONNECTION_FORCED.
func (b *Broker) DeleteVHost(name string) error {
	b.mu.Lock()
	vh := b.vhosts[name]
	if vh == nil {
		b.mu.Unlock()
		return errf("no vhost '%s'", name)
	}
	delete(b.vhosts, name)
	for k := range b.perms {
		if k.vhost == name {
			delete(b.perms, k)
		}
	}
	b.mu.Unlock()
	b.authzEpoch.Add(1)
	b.forceClose(func(c *Conn) bool { return c.vh == vh },
		newError(CodeConnectionForced, "vhost '%s' is deleted", name))
	vh.mu.Lock()
	vh.deleted = true
	qs := make([]*Queue, 0, len(vh.queues))
	for _, q := range vh.queues {
		qs = append(qs, q)
	}
	for _, q := range qs {
		vh.unlinkQueueLocked(q)
		q.destroy()
	}
	vh.mu.Unlock()
	return b.saveDefinitions()
}

// AddUser creates a user with a password (hashed as RabbitMQ does) and
// tags.
func (b *Broker) AddUser(name, password string, tags []string) error {
	if err := validName(name); err != nil {
		return err
	}
	hash, _ := decodeHash(HashPassword(password))
	b.mu.Lock()
	if b.users[name] != nil {
		b.mu.Unlock()
		return errf("user '%s' already exists", name)
	}
	b.users[name] = &User{Name: name, hash: hash, Tags: slices.Clone(tags)}
	b.mu.Unlock()
	return b.saveDefinitions()
}

// AddUserWithHash creates a user from a RabbitMQ definitions-style password
// hash (base64 of salt ++ SHA-256(salt ++ password)); "" means no password.
func (b *Broker) AddUserWithHash(name, passwordHash string, tags []string) error {
	if err := validName(name); err != nil {
		return err
	}
	hash, err := decodeHash(passwordHash)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.users[name] != nil {
		b.mu.Unlock()
		return errf("user '%s' already exists", name)
	}
	b.users[name] = &User{Name: name, hash: hash, Tags: slices.Clone(tags)}
	b.mu.Unlock()
	return b.saveDefinitions()
}

// DeleteUser deletes a user and its permissions; its connections are
// closed with CONNECTION_FORCED.
func (b *Broker) DeleteUser(name string) error {
	b.mu.Lock()
	if b.users[name] == nil {
		b.mu.Unlock()
		return errf("no user '%s'", name)
	}
	delete(b.users, name)
	for k := range b.perms {
		if k.user == name {
			delete(b.perms, k)
		}
	}
	b.mu.Unlock()
	b.authzEpoch.Add(1)
	b.forceClose(func(c *Conn) bool { return c.user.Name == name },
		newError(CodeConnectionForced, "user '%s' is deleted", name))
	return b.saveDefinitions()
}

// ChangePassword sets a user's password; "" clears it (no password login).
func (b *Broker) ChangePassword(name, password string) error {
	var hash []byte
	if password != "" {
		hash, _ = decodeHash(HashPassword(password))
	}
	return b.updateUser(name, func(u *User) { u.hash = hash })
}

// SetUserTags replaces a user's tags.
func (b *Broker) SetUserTags(name string, tags []string) error {
	return b.updateUser(name, func(u *User) { u.Tags = slices.Clone(tags) })
}

func (b *Broker) updateUser(name string, f func(*User)) error {
	b.mu.Lock()
	old := b.users[name]
	if old == nil {
		b.mu.Unlock()
		return errf("no user '%s'", name)
	}
	nu := *old
	f(&nu)
	b.users[name] = &nu
	b.mu.Unlock()
	return b.saveDefinitions()
}

// SetPermissions sets a user's configure/write/read expressions in a vhost.
func (b *Broker) SetPermissions(user, vhost, configure, write, read string) error {
	p, err := newPermission(user, vhost, configure, write, read)
	if err != nil {
		return err
	}
	b.mu.Lock()
	switch {
	case b.users[user] == nil:
		b.mu.Unlock()
		return errf("no user '%s'", user)
	case b.vhosts[vhost] == nil:
		b.mu.Unlock()
		return errf("no vhost '%s'", vhost)
	}
	b.perms[permKey{user, vhost}] = p
	b.mu.Unlock()
	b.authzEpoch.Add(1)
	return b.saveDefinitions()
}

// ClearPermissions removes a user's permissions in a vhost.
func (b *Broker) ClearPermissions(user, vhost string) error {
	b.mu.Lock()
	delete(b.perms, permKey{user, vhost})
	b.mu.Unlock()
	b.authzEpoch.Add(1)
	return b.saveDefinitions()
}

// VHosts lists the vhost names, sorted.
func (b *Broker) VHosts() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]string, 0, len(b.vhosts))
	for n := range b.vhosts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// UserInfo describes a user for listings.
type UserInfo struct {
	Name string
	Tags []string
}

// Users lists the users, sorted by name.
func (b *Broker) Users() []UserInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]UserInfo, 0, len(b.users))
	for _, u := range b.users {
		out = append(out, UserInfo{u.Name, slices.Clone(u.Tags)})
	}
	slices.SortFunc(out, func(a, b UserInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// PermissionInfo is one user's permissions in one vhost.
type PermissionInfo struct {
	User, VHost, Configure, Write, Read string
}

// Permissions lists the permissions of a vhost ("" for all), sorted.
func (b *Broker) Permissions(vhost string) []PermissionInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []PermissionInfo
	for _, p := range b.perms {
		if vhost == "" || p.VHost == vhost {
			out = append(out, PermissionInfo{p.User, p.VHost, p.Configure, p.Write, p.Read})
		}
	}
	slices.SortFunc(out, func(a, b PermissionInfo) int {
		return strings.Compare(a.VHost+"\x00"+a.User, b.VHost+"\x00"+b.User)
	})
	return out
}

// Queues lists a vhost's queues, sorted by name.
func (b *Broker) Queues(vhost string) ([]QueueInfo, error) {
	vh := b.vhost(vhost)
	if vh == nil {
		return nil, errf("no vhost '%s'", vhost)
	}
	vh.mu.RLock()
	qs := make([]*Queue, 0, len(vh.queues))
	for _, q := range vh.queues {
		qs = append(qs, q)
	}
	vh.mu.RUnlock()
	out := make([]QueueInfo, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.info())
	}
	slices.SortFunc(out, func(a, b QueueInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ExchangeInfo describes an exchange for listings.
type ExchangeInfo struct {
	VHost, Name, Type             string
	Durable, AutoDelete, Internal bool
	Arguments                     Table
}

// Exchanges lists a vhost's exchanges, sorted by name.
func (b *Broker) Exchanges(vhost string) ([]ExchangeInfo, error) {
	vh := b.vhost(vhost)
	if vh == nil {
		return nil, errf("no vhost '%s'", vhost)
	}
	vh.mu.RLock()
	out := make([]ExchangeInfo, 0, len(vh.exchanges))
	for _, x := range vh.exchanges {
		out = append(out, ExchangeInfo{vhost, x.name, x.kind.String(), x.durable, x.autoDelete, x.internal, x.args})
	}
	vh.mu.RUnlock()
	slices.SortFunc(out, func(a, b ExchangeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// BindingInfo describes a binding for listings.
type BindingInfo struct {
	VHost, Source, Destination, DestinationType, RoutingKey string
	Arguments                                               Table
}

// Bindings lists a vhost's bindings (without the default exchange's
// implicit ones), sorted.
func (b *Broker) Bindings(vhost string) ([]BindingInfo, error) {
	vh := b.vhost(vhost)
	if vh == nil {
		return nil, errf("no vhost '%s'", vhost)
	}
	vh.mu.RLock()
	var out []BindingInfo
	for _, x := range vh.exchanges {
		for _, bd := range x.bindings {
			d := bd.def()
			out = append(out, BindingInfo{vhost, d.Source, d.Destination, d.DestinationType, d.RoutingKey, bd.args})
		}
	}
	vh.mu.RUnlock()
	slices.SortFunc(out, func(a, b BindingInfo) int {
		return strings.Compare(a.Source+"\x00"+a.Destination+"\x00"+a.RoutingKey, b.Source+"\x00"+b.Destination+"\x00"+b.RoutingKey)
	})
	return out, nil
}
