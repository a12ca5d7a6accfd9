package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"ferry/internal/admin"
	"ferry/internal/proto/amqp"
)

// adminState is the admin HTTP listener (/metrics, /api, /healthz).
type adminState struct {
	ln    net.Listener
	srv   *http.Server
	start time.Time
}

// startAdmin applies the config file's broker users, vhosts and
// permissions, then binds the admin listener. A failure to bind the
// built-in default address (another Ferry or a RabbitMQ management plugin
// holds 15672) is only a warning; an address the user set must bind.
func (s *Server) startAdmin() error {
	s.admin.start = time.Now()
	if s.broker != nil {
		if err := s.applyAMQPAccess(); err != nil {
			return err
		}
	}
	ac := s.cfg.Admin
	if ac.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", ac.Addr)
	if err != nil {
		if !ac.Explicit {
			s.log.Warn("admin: cannot listen on the default address; the admin API and /metrics are off (set admin-addr)", "addr", ac.Addr, "err", err)
			return nil
		}
		return fmt.Errorf("admin: listen: %w", err)
	}
	host, _ := os.Hostname()
	node := "ferry@" + host
	h := admin.New(admin.Config{
		Version:       Version,
		BrokerVersion: amqp.CompatVersion,
		Node:          node,
		Start:         s.admin.start,
		Ready: func() bool {
			select {
			case <-s.ready:
				return true
			default:
				return false
			}
		},
		Broker:         s.broker,
		RedisInfo:      s.redisInfo(),
		MemcachedStats: s.memcachedStats(),
		Listeners: func() []admin.Listener {
			var out []admin.Listener
			for proto, addrs := range s.addrs {
				for _, a := range addrs {
					h, p, _ := net.SplitHostPort(a.String())
					port, _ := strconv.Atoi(p)
					out = append(out, admin.Listener{Protocol: proto, IPAddr: h, Port: port, Node: node})
				}
			}
			return out
		},
		Logger: s.log,
	})
	s.admin.ln = ln
	s.admin.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.addrs["admin"] = append(s.addrs["admin"], ln.Addr())
	return nil
}

func (s *Server) redisInfo() func() string {
	if !s.cfg.Redis.Enabled || s.redis == nil {
		return nil
	}
	return func() string { return s.redis.Info("everything") }
}

func (s *Server) memcachedStats() func() ([][2]string, int) {
	if s.memcached == nil {
		return nil
	}
	return func() ([][2]string, int) { return s.memcached.Stats(), s.memcached.MaxConns() }
}

// serveAdmin starts serving the admin listener, if any.
func (s *Server) serveAdmin() {
	if s.admin.srv == nil {
		return
	}
	go func() {
		if err := s.admin.srv.Serve(s.admin.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin: serve", "err", err)
		}
	}()
}

// closeAdmin stops the admin listener, letting requests in flight finish
// within the shutdown grace.
func (s *Server) closeAdmin() {
	switch {
	case s.admin.srv != nil:
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := s.admin.srv.Shutdown(ctx); err != nil {
			s.admin.srv.Close()
		}
		s.admin.ln.Close() // Shutdown closes it only when Serve ran
	case s.admin.ln != nil:
		s.admin.ln.Close()
	}
}

// applyAMQPAccess applies the amqp-vhost, amqp-user and amqp-permissions
// directives to the broker at every start: missing vhosts and users are
// created, listed users get the file's password and tags, permissions are
// set. The broker saves each change to its definitions store, so they are
// durable; entries removed from the file are not deleted (as RabbitMQ's
// load_definitions).
func (s *Server) applyAMQPAccess() error {
	b, ac := s.broker, s.cfg.AMQP
	have := map[string]bool{}
	for _, v := range b.VHosts() {
		have[v] = true
	}
	for _, v := range ac.VHosts {
		if !have[v] {
			if err := b.AddVHost(v); err != nil {
				return fmt.Errorf("amqp-vhost %s: %w", v, err)
			}
			have[v] = true
		}
	}
	for _, u := range ac.Users {
		var err error
		if _, exists := b.UserPasswordHash(u.Name); exists {
			if err = b.ChangePassword(u.Name, u.Password); err == nil {
				err = b.SetUserTags(u.Name, u.Tags)
			}
		} else {
			err = b.AddUser(u.Name, u.Password, u.Tags)
		}
		if err != nil {
			return fmt.Errorf("amqp-user %s: %w", u.Name, err)
		}
	}
	for _, p := range ac.Permissions {
		if err := b.SetPermissions(p.User, p.VHost, p.Configure, p.Write, p.Read); err != nil {
			return fmt.Errorf("amqp-permissions %s %s: %w", p.User, p.VHost, err)
		}
	}
	return nil
}
