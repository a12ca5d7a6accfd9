package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// User is a broker user. Users are replaced, never modified, so a *User
// read under Broker.mu stays consistent after the lock is released.
type User struct {
	Name string
	// hash is RabbitMQ's rabbit_password_hashing_sha256 value: a 4-byte
	// salt followed by SHA-256(salt ++ password). Nil means the user
	// cannot log in with a password.
	hash []byte
	Tags []string
}

// HasTag reports whether the user carries tag (e.g. "administrator").
func (u *User) HasTag(tag string) bool { return slices.Contains(u.Tags, tag) }

// PasswordHash returns the hash as RabbitMQ's definitions export writes
// it (base64 of salt ++ SHA-256(salt ++ password)).
func (u *User) PasswordHash() string {
	if u.hash == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(u.hash)
}

// HashPassword hashes a password with RabbitMQ's default scheme
// (rabbit_password:hash/2 with rabbit_password_hashing_sha256) and returns
// it base64-encoded, as definitions files carry it.
func HashPassword(password string) string {
	salt := make([]byte, 4)
	rand.Read(salt)
	return base64.StdEncoding.EncodeToString(saltedHash(salt, password))
}

func saltedHash(salt []byte, password string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(password))
	return h.Sum(append([]byte(nil), salt...))
}

func checkPassword(hash []byte, password string) bool {
	if len(hash) != 4+sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(hash, saltedHash(hash[:4], password)) == 1
}

func decodeHash(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 4+sha256.Size {
		return nil, fmt.Errorf("broker: bad password hash (want base64 of a 4-byte salt and a SHA-256)")
	}
	return b, nil
}

// Permission is a user's configure/write/read regular expressions in one
// vhost. An empty expression matches nothing (RabbitMQ reads "" as "^$").
type Permission struct {
	User, VHost            string
	Configure, Write, Read string
	configure, write, read *regexp.Regexp
}

type permKind uint8

const (
	permConfigure permKind = iota
	permWrite
	permRead
)

func (p permKind) String() string {
	return [...]string{"configure", "write", "read"}[p]
}

func compilePerm(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		expr = "^$"
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("broker: bad permission expression %q: %w", expr, err)
	}
	return re, nil
}

func newPermission(user, vhost, configure, write, read string) (*Permission, error) {
	p := &Permission{User: user, VHost: vhost, Configure: configure, Write: write, Read: read}
	var err error
	if p.configure, err = compilePerm(configure); err != nil {
		return nil, err
	}
	if p.write, err = compilePerm(write); err != nil {
		return nil, err
	}
	if p.read, err = compilePerm(read); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Permission) allows(k permKind, name string) bool {
	switch k {
	case permConfigure:
		return p.configure.MatchString(name)
	case permWrite:
		return p.write.MatchString(name)
	}
	return p.read.MatchString(name)
}

type permKey struct{ user, vhost string }

// Authenticate checks a user name and password (RabbitMQ's internal
// backend) and returns the user, or ErrLoginRefused.
func (b *Broker) Authenticate(username, password string) (*User, error) {
	b.mu.RLock()
	u := b.users[username]
	b.mu.RUnlock()
	if u == nil || !checkPassword(u.hash, password) {
		return nil, ErrLoginRefused
	}
	return u, nil
}

// LoopbackOnly reports whether user may only connect from a loopback
// address (RabbitMQ's loopback_users, by default guest). The front end
// enforces it: it knows the peer address.
func (b *Broker) LoopbackOnly(user string) bool {
	return slices.Contains(b.cfg.LoopbackUsers, user)
}

// checkVHostAccess is rabbit_access_control:check_vhost_access.
func (b *Broker) checkVHostAccess(user, vhost string) *Error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.vhosts[vhost] == nil {
		return newError(CodeNotAllowed, "vhost %s not found", vhost)
	}
	if b.perms[permKey{user, vhost}] == nil {
		return newError(CodeNotAllowed, "access to vhost '%s' refused for user '%s'", vhost, user)
	}
	return nil
}

// checkAccess is rabbit_access_control:check_resource_access: the
// default exchange is checked under the name "amq.default".
func (b *Broker) checkAccess(user, vhost, kind, name string, k permKind) *Error {
	if kind == "exchange" && name == "" {
		name = "amq.default"
	}
	b.mu.RLock()
	p := b.perms[permKey{user, vhost}]
	b.mu.RUnlock()
	if p != nil && p.allows(k, name) {
		return nil
	}
	return newError(CodeAccessRefused, "access to %s refused for user '%s'", rs(kind, name, vhost), user)
}

// permCache remembers a channel's recent successful permission checks, as
// rabbit_channel's permission_cache does, so a publish loop does not run a
// regexp per message. It is invalidated by any permission change.
type permCache struct {
	epoch   uint64
	entries [8]permCacheEntry
	next    int
}

type permCacheEntry struct {
	kind string
	name string
	k    permKind
	ok   bool
}

func (c *permCache) lookup(epoch uint64, kind, name string, k permKind) bool {
	if c.epoch != epoch {
		c.epoch = epoch
		c.entries = [8]permCacheEntry{}
		return false
	}
	for i := range c.entries {
		e := &c.entries[i]
		if e.ok && e.k == k && e.name == name && e.kind == kind {
			return true
		}
	}
	return false
}

func (c *permCache) add(kind, name string, k permKind) {
	c.entries[c.next] = permCacheEntry{kind, name, k, true}
	c.next = (c.next + 1) % len(c.entries)
}

func validName(s string) error {
	if s == "" || strings.ContainsAny(s, "\x00") {
		return fmt.Errorf("broker: invalid name %q", s)
	}
	return nil
}
