// Package ds holds the pure data structures behind Redis's collection types:
// a generic incrementally rehashed Dict, a quicklist-style List, and Hash,
// Set and ZSet with Redis 7.0's small ("listpack", "intset") and large
// ("hashtable", "skiplist", "quicklist") encodings and conversion rules.
//
// The structures own their memory layout and nothing else: no locking (the
// keyspace calls them under its shard lock), no wire formats, no clocks. The
// package imports only the standard library.
//
// Layouts are chosen for Go's garbage collector as much as for speed: small
// encodings are one packed []byte each, the Dict keeps its entries in
// pointer-free chunks and its keys and byte values in pointer-free arena
// pages, and the skiplist's nodes live inside the Dict's entries. A
// million-member set is therefore a handful of large noscan allocations, not
// a million small objects for the collector to trace.
//
// Every structure reports MemSize, an estimate of the bytes it holds that is
// maintained incrementally so the keyspace can charge writes against
// maxmemory in O(1), and Encoding, the name OBJECT ENCODING reports.
//
// Byte slices handed to callbacks or returned by getters point into the
// structure's own memory: they are valid only until the next modification
// and must be copied to be kept.
package ds
