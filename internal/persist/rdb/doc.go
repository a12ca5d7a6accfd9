// Package rdb reads and writes Redis RDB files and DUMP/RESTORE payloads.
//
// It owns the byte format only: RDB headers, opcodes, the string, length and
// double encodings, the compact encodings Redis embeds in an RDB (listpack,
// ziplist, intset, zipmap, quicklist nodes, stream listpacks), LZF and the
// CRC64 trailer. It knows nothing of Ferry's keyspace: values come and go as
// plain Go slices (String, List, Set, ZSet, Hash, *Stream), and the caller
// decides what to keep (expired keys, duplicate keys, databases beyond its
// range, functions). It imports only the standard library.
//
// Reading (Reader) accepts every file Redis 7.0 writes (RDB version 10) and the
// older versions 1..9 that Redis 7.0 still loads, plus the 7.2 SET_LISTPACK and
// STREAM_LISTPACKS_3 types. It streams: one key is decoded at a time, and every
// length and offset read from the input is validated before use, so a corrupt
// or hostile file yields a *CorruptError naming the byte offset, never a panic
// or an allocation out of proportion to the input.
//
// Writing (Writer) produces RDB version 10 files that Redis 7.0 loads, using
// the encodings Redis 7.0 itself would choose under its default configuration
// (listpack for small hashes and sorted sets, intset for small integer sets,
// quicklist with listpack nodes for lists, int-encoded and LZF-compressed
// strings). DumpValue and ParseDump do the same for DUMP/RESTORE payloads.
//
// Format sources: Redis 7.0 src/rdb.h, rdb.c, listpack.c, ziplist.c, intset.c,
// zipmap.c, t_stream.c, lzf_c.c/lzf_d.c and crc64.c; the byte layouts are
// summarised next to the code that handles them. Keep those comments in sync
// with the code.
package rdb
