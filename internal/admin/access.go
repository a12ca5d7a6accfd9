package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"ferry/internal/broker"
)

// This file is the access-control part of the API: users, vhosts and
// permissions, with the management plugin's paths, bodies and status
// codes (201 created, 204 updated or deleted, 404 missing).

type userJSON struct {
	Name             string            `json:"name"`
	PasswordHash     string            `json:"password_hash"`
	HashingAlgorithm string            `json:"hashing_algorithm"`
	Tags             []string          `json:"tags"`
	Limits           map[string]string `json:"limits"`
}

func (h *Handler) userJSON(u broker.UserInfo) userJSON {
	hash, _ := h.cfg.Broker.UserPasswordHash(u.Name)
	tags := u.Tags
	if tags == nil {
		tags = []string{}
	}
	return userJSON{u.Name, hash, "rabbit_password_hashing_sha256", tags, map[string]string{}}
}

func (h *Handler) findUser(name string) (broker.UserInfo, bool) {
	for _, u := range h.cfg.Broker.Users() {
		if u.Name == name {
			return u, true
		}
	}
	return broker.UserInfo{}, false
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, u *broker.User) {
	tags := u.Tags
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": u.Name, "tags": tags})
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	users := h.cfg.Broker.Users()
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, h.userJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	u, ok := h.findUser(r.PathValue("user"))
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.userJSON(u))
}

// putUserBody is PUT /api/users/name: password or password_hash, and
// tags as a comma-separated string or a list.
type putUserBody struct {
	Password     *string         `json:"password"`
	PasswordHash *string         `json:"password_hash"`
	Tags         json.RawMessage `json:"tags"`
}

func parseTags(raw json.RawMessage) ([]string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var out []string
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
		return out, true, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, false, errors.New("tags must be a string or a list of strings")
	}
	return list, true, nil
}

func (h *Handler) putUser(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	b := h.cfg.Broker
	name := r.PathValue("user")
	var body putUserBody
	if err := readJSON(r, &body); err != nil && !errors.Is(err, io.EOF) {
		badRequest(w, err.Error())
		return
	}
	tags, tagsGiven, err := parseTags(body.Tags)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	_, exists := h.findUser(name)
	if !exists {
		switch {
		case body.Password != nil:
			err = b.AddUser(name, *body.Password, tags)
		case body.PasswordHash != nil:
			err = b.AddUserWithHash(name, *body.PasswordHash, tags)
		default:
			// The management plugin creates a user without password
			// (no password login) when neither is given.
			err = b.AddUserWithHash(name, "", tags)
		}
		if err != nil {
			badRequest(w, err.Error())
			return
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	switch {
	case body.Password != nil:
		err = b.ChangePassword(name, *body.Password)
	case body.PasswordHash != nil:
		err = b.SetPasswordHash(name, *body.PasswordHash)
	}
	if err == nil && tagsGiven {
		err = b.SetUserTags(name, tags)
	}
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	name := r.PathValue("user")
	if _, ok := h.findUser(name); !ok {
		notFound(w)
		return
	}
	if err := h.cfg.Broker.DeleteUser(name); err != nil {
		badRequest(w, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type vhostJSON struct {
	Name                   string   `json:"name"`
	Description            string   `json:"description"`
	Tags                   []string `json:"tags"`
	Tracing                bool     `json:"tracing"`
	DefaultQueueType       string   `json:"default_queue_type"`
	Messages               int      `json:"messages"`
	MessagesReady          int      `json:"messages_ready"`
	MessagesUnacknowledged int      `json:"messages_unacknowledged"`
}

func (h *Handler) vhostJSON(name string) vhostJSON {
	v := vhostJSON{Name: name, Tags: []string{}, DefaultQueueType: "classic"}
	qs, _ := h.cfg.Broker.Queues(name)
	for _, q := range qs {
		v.MessagesReady += q.Messages
		v.MessagesUnacknowledged += q.MessagesUnacked
	}
	v.Messages = v.MessagesReady + v.MessagesUnacknowledged
	return v
}

func (h *Handler) vhostExists(name string) bool {
	return slices.Contains(h.cfg.Broker.VHosts(), name)
}

func (h *Handler) listVHosts(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	names := h.cfg.Broker.VHosts()
	out := make([]vhostJSON, 0, len(names))
	for _, n := range names {
		out = append(out, h.vhostJSON(n))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getVHost(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	name := r.PathValue("vhost")
	if !h.vhostExists(name) {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.vhostJSON(name))
}

func (h *Handler) putVHost(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	name := r.PathValue("vhost")
	if h.vhostExists(name) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := h.cfg.Broker.AddVHost(name); err != nil {
		badRequest(w, err.Error())
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (h *Handler) deleteVHost(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	name := r.PathValue("vhost")
	if !h.vhostExists(name) {
		notFound(w)
		return
	}
	if err := h.cfg.Broker.DeleteVHost(name); err != nil {
		badRequest(w, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type permissionJSON struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

func (h *Handler) permissions(keep func(broker.PermissionInfo) bool) []permissionJSON {
	out := []permissionJSON{}
	for _, p := range h.cfg.Broker.Permissions("") {
		if keep(p) {
			out = append(out, permissionJSON{p.User, p.VHost, p.Configure, p.Write, p.Read})
		}
	}
	return out
}

func (h *Handler) listPermissions(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	writeJSON(w, http.StatusOK, h.permissions(func(broker.PermissionInfo) bool { return true }))
}

func (h *Handler) vhostPermissions(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vh := r.PathValue("vhost")
	if !h.vhostExists(vh) {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.permissions(func(p broker.PermissionInfo) bool { return p.VHost == vh }))
}

func (h *Handler) userPermissions(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	user := r.PathValue("user")
	if _, ok := h.findUser(user); !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.permissions(func(p broker.PermissionInfo) bool { return p.User == user }))
}

func (h *Handler) getPermission(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vh, user := r.PathValue("vhost"), r.PathValue("user")
	ps := h.permissions(func(p broker.PermissionInfo) bool { return p.VHost == vh && p.User == user })
	if len(ps) == 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, ps[0])
}

func (h *Handler) putPermission(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vh, user := r.PathValue("vhost"), r.PathValue("user")
	var body struct {
		Configure *string `json:"configure"`
		Write     *string `json:"write"`
		Read      *string `json:"read"`
	}
	if err := readJSON(r, &body); err != nil {
		badRequest(w, err.Error())
		return
	}
	if body.Configure == nil || body.Write == nil || body.Read == nil {
		badRequest(w, "[{key_missing,configure},{key_missing,write},{key_missing,read}]")
		return
	}
	if !h.vhostExists(vh) {
		notFound(w)
		return
	}
	if _, ok := h.findUser(user); !ok {
		notFound(w)
		return
	}
	existed := len(h.permissions(func(p broker.PermissionInfo) bool { return p.VHost == vh && p.User == user })) > 0
	if err := h.cfg.Broker.SetPermissions(user, vh, *body.Configure, *body.Write, *body.Read); err != nil {
		badRequest(w, err.Error())
		return
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

func (h *Handler) deletePermission(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vh, user := r.PathValue("vhost"), r.PathValue("user")
	if len(h.permissions(func(p broker.PermissionInfo) bool { return p.VHost == vh && p.User == user })) == 0 {
		notFound(w)
		return
	}
	if err := h.cfg.Broker.ClearPermissions(user, vh); err != nil {
		badRequest(w, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
