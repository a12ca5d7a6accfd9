// Package aof owns Ferry's append-only file: Redis 7.0's multi-part AOF
// (a directory holding a base file, incremental files and a manifest), so an
// AOF directory moves between Redis 7 and Ferry in both directions.
//
// It stores and replays RESP commands and knows nothing about the keyspace:
// a Writer appends commands (adding SELECT when the database changes, as
// Redis's feedAppendOnlyFile does) and writes them in the background with
// the appendfsync policy (always with group commit, everysec, no); Load
// replays a directory through caller-supplied functions, cutting a torn tail
// or refusing corruption with the file name and byte offset; a rewrite
// switches appends to a new incremental file while the caller writes a new
// base (RDB or AOF bytes: see Rewriter), then replaces the manifest
// atomically.
//
// Files on disk (keep in sync with the code; see Redis 7.0 src/aof.c):
//
//	<dir>/<appenddirname>/                         default "appendonlydir"
//	    <appendfilename>.<seq>.base.rdb            base: an RDB file, or
//	    <appendfilename>.<seq>.base.aof            base: RESP commands (may start with an RDB preamble)
//	    <appendfilename>.<seq>.incr.aof            incremental: RESP commands, one file per rewrite period
//	    <appendfilename>.manifest                  one line per file, base first, then history, then incr:
//	        file appendonly.aof.1.base.rdb seq 1 type b\n
//	        file appendonly.aof.1.incr.aof seq 1 type i\n
//	    temp-<appendfilename>.manifest             the manifest being replaced (write, fsync, rename, fsync dir)
//	    temp-rewriteaof-ferry-<n>.aof              a base being written by a rewrite
//
// A file name that needs quoting is written as Redis's sdscatrepr writes it
// ("a b.aof.1.incr.aof") and read with sdssplitargs's rules.
//
// It imports only the standard library and ferry/internal/proto/resp.
package aof
